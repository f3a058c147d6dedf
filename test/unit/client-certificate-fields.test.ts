// What a request's log line, header rules and member head get of the client's certificate: `%{VAR}x` in the log
// (escaped, as httpd 2.4.71 escapes it), `%{VAR}s` in RequestHeader (CR and LF become spaces, as mod_headers' unwrap_header
// does to the PEM), `%{VAR}e` only under SSLOptions +StdEnvVars / +ExportCertData, and RFC 9440's Client-Cert and
// Client-Cert-Chain, which only Stickler writes when the virtual host forwards them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HeaderRule } from '../../src/config/model.ts';
import type { AccessEntry } from '../../src/log/entry.ts';
import { isFieldValue } from '../../src/http/syntax.ts';
import { compileLogFormat } from '../../src/log/format.ts';
import { applyHeaderRules, compileRule, type CompiledRule } from '../../src/proxy/header-rules.ts';
import { forwardRequestHeaders } from '../../src/proxy/forward.ts';
import { peerOf } from '../../src/server/peer.ts';
import type { ClientCertificateFacts } from '../../src/tls/client-verify.ts';
import { clientCertChainField, clientCertField } from '../../src/tls/rfc9440.ts';
import { issueCertificate, type MadeCertificate } from '../support/certs.ts';
import { forwardContext } from '../support/fixtures.ts';

let dir: string;
let ca: MadeCertificate;
let leaf: MadeCertificate;
let client: ClientCertificateFacts;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stickler-client-fields-'));
  ca = issueCertificate(dir, 'ca', { subject: '/O=Test CA/CN=Root', ca: true });
  leaf = issueCertificate(dir, 'leaf', { subject: '/O=Example/CN=Jörg "J", Sr.', issuer: ca, serial: '0A0B' });
  client = { verify: 'SUCCESS', certificate: new X509Certificate(leaf.pem), chain: [new X509Certificate(ca.pem)] };
});

after(() => rmSync(dir, { recursive: true, force: true }));

const S_DN = (): string => Buffer.from('CN=Jörg \\"J\\"\\, Sr.,O=Example').toString('latin1');

/** A request on a TLS connection with `facts`; null is a connection that asked for no certificate. */
function entry(more: Partial<AccessEntry> = {}, facts: ClientCertificateFacts | null = client): AccessEntry {
  return {
    clientIp: '192.0.2.10',
    time: new Date('2000-10-10T13:55:36.250Z'),
    method: 'GET',
    target: '/',
    protocol: 'HTTP/1.1',
    status: 200,
    bytesSent: 0,
    totalMs: 0,
    connection: { localIp: '127.0.0.1', remotePort: 1, tls: () => ({ protocol: 'TLSv1.3', client: facts ?? undefined }) },
    scheme: 'https',
    ...more,
  };
}

const SSL_OPTIONS = { source: { file: 'h.conf', line: 3 }, stdEnvVars: true, exportCertData: true };

function line(format: string, e: AccessEntry): string {
  const compiled = compileLogFormat(format);
  assert.ok(!('error' in compiled), format);
  return compiled.render(e);
}

test('the log: %{VAR}x escaped as httpd escapes it, and %{VAR}e only with SSLOptions', () => {
  assert.equal(line('%{SSL_CLIENT_S_DN}x|%{SSL_CLIENT_VERIFY}x|%{ssl_client_m_serial}x|%{SSL_CLIENT_I_DN_CN}x', entry()), 'CN=J\\xc3\\xb6rg \\\\\\"J\\\\\\"\\\\, Sr.,O=Example|SUCCESS|0A0B|Root');
  assert.equal(line('%{SSL_CLIENT_CERT}x', entry()), leaf.pem.replaceAll('\n', '\\n'));
  assert.equal(line('%{SSL_CLIENT_S_DN}x %{SSL_CLIENT_VERIFY}x', entry({}, { verify: 'NONE', chain: [] })), '- NONE');
  assert.equal(line('%{SSL_CLIENT_VERIFY}x', entry({ scheme: 'http' })), '-');
  // mod_ssl 1.x's names, %{name}c.
  assert.equal(line('%{subjectdn}c|%{issuerdn}c|%{version}c|%{errcode}c|%{errstr}c|%{constructor}c|%c', entry()), 'CN=J\\xc3\\xb6rg \\\\\\"J\\\\\\"\\\\, Sr.,O=Example|CN=Root,O=Test CA|TLSv1.3|-|-|-|-');
  assert.equal(line('%{version}c|%{errcode}c', entry({ scheme: 'http' })), '-|-');
  // Without SSLOptions the environment holds none of them; with them, %e escapes as it escapes any variable.
  assert.equal(line('%{SSL_CLIENT_S_DN}e %{SSL_CLIENT_VERIFY}e', entry()), '- -');
  assert.equal(line('%{SSL_CLIENT_S_DN}e|%{ssl_client_s_dn_cn}e|%{SSL_CLIENT_VERIFY}e', entry({ sslOptions: SSL_OPTIONS })), 'CN=J\\xc3\\xb6rg \\\\\\"J\\\\\\"\\\\, Sr.,O=Example|J\\xc3\\xb6rg \\"J\\", Sr.|SUCCESS');
  assert.equal(line('%{SSL_CLIENT_CERT_CHAIN_0}e', entry({ sslOptions: SSL_OPTIONS })), ca.pem.replaceAll('\n', '\\n'));
  assert.equal(line('%{SSL_CLIENT_CERT}e', entry({ sslOptions: { ...SSL_OPTIONS, exportCertData: false } })), '-');
  assert.equal(line('%{SSL_CLIENT_S_DN}e', entry({ sslOptions: { ...SSL_OPTIONS, stdEnvVars: false } })), '-');
  // SSL_TLS_SNI is always there under TLS; SSL_PROTOCOL and SSL_CIPHER with +StdEnvVars, as the client's variables.
  const sni = (more: Partial<AccessEntry>) => entry({ ...more, connection: { localIp: '127.0.0.1', remotePort: 1, tls: () => ({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', sni: 'idp.example' }) } });
  assert.equal(line('%{SSL_TLS_SNI}e|%{SSL_PROTOCOL}e|%{ssl_cipher}e', sni({})), 'idp.example|-|-');
  assert.equal(line('%{SSL_TLS_SNI}e|%{SSL_PROTOCOL}e|%{ssl_cipher}e', sni({ sslOptions: SSL_OPTIONS })), 'idp.example|TLSv1.3|TLS_AES_128_GCM_SHA256');
  assert.equal(line('%{SSL_TLS_SNI}e|%{SSL_PROTOCOL}e', sni({ sslOptions: SSL_OPTIONS, scheme: 'http' })), '-|-');
  // +ExportCertData sets SSL_CLIENT_CERT even without a certificate: empty, not unset.
  assert.equal(line('[%{SSL_CLIENT_CERT}e]', entry({ sslOptions: SSL_OPTIONS }, null)), '[]');
});

function rule(value: string, more: Partial<HeaderRule> = {}): CompiledRule {
  const compiled = compileRule({ source: { file: 'h.conf', line: 1 }, direction: 'request', condition: 'onsuccess', action: 'set', header: 'X', value, ...more });
  assert.ok(typeof compiled !== 'string', compiled as string);
  return compiled;
}

function requestValue(value: string, e: AccessEntry, more: Partial<HeaderRule> = {}): string | undefined {
  return applyHeaderRules([rule(value, more)], [], { path: '/' }, { entry: e, facts: undefined, elapsedUs: 0 })[0]?.[1];
}

test('RequestHeader: %{VAR}s with the PEM on one line, newlines become spaces; (null) for none', () => {
  assert.equal(requestValue('%{SSL_CLIENT_CERT}s', entry()), leaf.pem.replaceAll('\n', ' '));
  assert.equal(requestValue('%{SSL_CLIENT_S_DN}s', entry()), S_DN());
  assert.equal(requestValue('%{SSL_CLIENT_CERT_CHAIN_0}s|%{SSL_CLIENT_CERT_CHAIN_1}s', entry()), `${ca.pem.replaceAll('\n', ' ')}|(null)`);
  assert.equal(requestValue('%{SSL_CLIENT_S_DN}s|%{SSL_CLIENT_VERIFY}s', entry({}, null)), '(null)|NONE');
  assert.equal(requestValue('%{SSL_CLIENT_CERT}e|%{SSL_CLIENT_S_DN_O}e', entry()), '(null)|(null)');
  assert.equal(requestValue('%{SSL_CLIENT_CERT}e|%{SSL_CLIENT_S_DN_O}e', entry({ sslOptions: SSL_OPTIONS })), `${leaf.pem.replaceAll('\n', ' ')}|Example`);
  assert.equal(requestValue('x', entry({ sslOptions: SSL_OPTIONS }), { env: { variable: 'SSL_CLIENT_S_DN', negate: false } }), 'x');
  assert.equal(requestValue('x', entry(), { env: { variable: 'SSL_CLIENT_S_DN', negate: false } }), undefined);
});

test('RequestHeader and Header: a client\'s SNI with bytes no field may hold gives a value that can be sent (those bytes are spaces)', () => {
  const withSni = (sni: string): AccessEntry => entry({ connection: { localIp: '127.0.0.1', remotePort: 1, tls: () => ({ sni }) } });
  assert.equal(requestValue('%{SSL_TLS_SNI}s', withSni('a\x01b\x7fc\r\nd\x00e.example')), 'a b c  d e.example');
  assert.equal(requestValue('%{SSL_TLS_SNI}s', withSni('\u0100.example')), ' .example');
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (sni) => isFieldValue(requestValue('%{SSL_TLS_SNI}s', withSni(sni))!)),
    { numRuns: 300 },
  );
});

test('RFC 9440: Client-Cert is a byte sequence of the DER, Client-Cert-Chain a list of them', () => {
  const field = clientCertField(client.certificate!);
  assert.match(field, /^:[A-Za-z0-9+/]+={0,2}:$/);
  assert.deepEqual(Buffer.from(field.slice(1, -1), 'base64'), client.certificate!.raw);
  assert.equal(clientCertChainField(client.chain), clientCertField(client.chain[0]!));
  assert.equal(clientCertChainField([client.chain[0]!, client.certificate!]), `${clientCertField(client.chain[0]!)}, ${field}`);
  assert.equal(clientCertChainField([]), undefined);
});

test('RFC 9440 fields reach the member only from Stickler, for the certificate of an admitted connection', () => {
  const sent: Array<[string, string]> = [['Client-Cert', ':Zm9yZ2Vk:'], ['client-cert-chain', ':Zm9yZ2Vk:'], ['Accept', '*/*']];
  const fields = (facts: ClientCertificateFacts | undefined, trustedPeer = false) =>
    forwardRequestHeaders(sent, { ...forwardContext, trustedPeer, forwardCertificate: { facts } }).filter(([n]) => /^client-cert/i.test(n));
  const ours = [['Client-Cert', clientCertField(client.certificate!)], ['Client-Cert-Chain', clientCertChainField(client.chain)!]];
  assert.deepEqual(fields(client), ours);
  assert.deepEqual(fields(client, true), ours);
  // optional_no_ca admits an unknown issuer's certificate with FAILED: it goes on, for the member to judge.
  assert.deepEqual(fields({ ...client, verify: 'FAILED:unable to verify the first certificate', chain: [] }), [ours[0]]);
  assert.deepEqual(fields({ verify: 'NONE', chain: [] }, true), []);
  assert.deepEqual(fields(undefined), []);
  // Not forwarding: a client's claims go as before, dropped from an untrusted peer and kept from a trusted one.
  const plain = (trustedPeer: boolean) => forwardRequestHeaders(sent, { ...forwardContext, trustedPeer }).filter(([n]) => /^client-cert/i.test(n));
  assert.deepEqual(plain(false), []);
  assert.deepEqual(plain(true), sent.slice(0, 2));
});

test('the connection\'s TLS facts are read from the socket once, however many SSL_* items its requests ask for', () => {
  let reads = 0;
  const socket = {
    remoteAddress: '192.0.2.10', localAddress: '127.0.0.1', remotePort: 1, localPort: 443, servername: 'a.example',
    getProtocol: () => (reads++, 'TLSv1.3'),
    getCipher: () => (reads++, { name: 'TLS_AES_128_GCM_SHA256' }),
  } as unknown as Socket;
  const e = entry({ connection: peerOf(socket).log });
  const format = '%{SSL_PROTOCOL}x %{SSL_CIPHER}x %{SSL_TLS_SNI}x %{SSL_CLIENT_VERIFY}x';
  assert.equal(line(format, e), 'TLSv1.3 TLS_AES_128_GCM_SHA256 a.example NONE');
  assert.equal(line(format, e), 'TLSv1.3 TLS_AES_128_GCM_SHA256 a.example NONE');
  assert.equal(reads, 2);
});
