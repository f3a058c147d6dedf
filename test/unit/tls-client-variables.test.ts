// mod_ssl's SSL_CLIENT_* values, with the openssl command (the library Debian's apache2 links) as the oracle: the
// DNs as `-nameopt RFC2253,-esc_msb` prints them (mod_ssl's flags), components as `esc_ctrl,utf8` print them, serial,
// dates and algorithms as `x509` prints them. Certificates come from openssl itself, and names openssl will not
// write (BMPString, UniversalString, T61String, control characters, unknown attribute types) are put into one of
// its certificates by hand: `x509` prints a name without checking the signature. Every value is a byte string.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { childrenOf, readOne } from '../../src/tls/der.ts';
import { nameEntries, rfc2253 } from '../../src/tls/asn1-print.ts';
import { clientEnvironment, clientVariable, parseCertificate } from '../../src/tls/client-variables.ts';
import { OBJECT_NAMES } from '../../src/tls/object-names.ts';
import { clientCertChainField, clientCertField } from '../../src/tls/rfc9440.ts';
import type { ClientCertificateFacts } from '../../src/tls/client-verify.ts';
import { issueCertificate, type MadeCertificate } from '../support/certs.ts';
import { oid, tlv } from '../support/der.ts';

let dir: string;
let ca: MadeCertificate;
let person: MadeCertificate;
let plain: MadeCertificate;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stickler-client-vars-'));
  ca = issueCertificate(dir, 'ca', { subject: '/C=DE/O=Test CA\\, Inc./CN=Test Root', ca: true, key: 'rsa:2048' });
  person = issueCertificate(dir, 'person', {
    subject: '/C=DE/ST=Bayern/L=München/O=Smith\\, Jones/OU=Dev/OU=Ops <x>/CN=Jörg Müller+UID=jm42/emailAddress=jorg@example.org/CN= #lead\\\\back"q;a=b ',
    altNames: 'email:jorg@example.org,email:j2@example.org,DNS:a.example,DNS:b.example,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:jorg@REALM',
    issuer: ca,
    serial: '00FF01',
    days: 400,
  });
  // Past 2049 a certificate's time is a GeneralizedTime.
  plain = issueCertificate(dir, 'plain', { subject: '/CN=#plain', key: 'ed25519', serial: '7F', days: 11_000 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** The openssl command's output, bytes as characters. */
function openssl(args: string[], input?: Buffer): string {
  return execFileSync('openssl', args, { encoding: 'latin1', input, timeout: 30_000 });
}

const facts = (cert: MadeCertificate, chain: MadeCertificate[] = []): ClientCertificateFacts => ({
  verify: 'SUCCESS',
  certificate: new X509Certificate(cert.pem),
  chain: chain.map((c) => new X509Certificate(c.pem)),
});

/** `field=value` lines of an openssl printout. */
function printed(text: string, field: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${field}=`));
  assert.ok(line !== undefined, `openssl printed no ${field}`);
  return line.slice(field.length + 1);
}

test('DNs, serial, dates, algorithms and PEM are what openssl prints for them', () => {
  for (const cert of [person, ca, plain]) {
    const f = facts(cert);
    const out = openssl(['x509', '-in', cert.certFile, '-noout', '-subject', '-issuer', '-serial', '-startdate', '-enddate', '-nameopt', 'RFC2253,-esc_msb']);
    assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN'), printed(out, 'subject'));
    assert.equal(clientVariable(f, 'SSL_CLIENT_I_DN'), printed(out, 'issuer'));
    assert.equal(clientVariable(f, 'SSL_CLIENT_M_SERIAL'), printed(out, 'serial'));
    assert.equal(clientVariable(f, 'SSL_CLIENT_V_START'), printed(out, 'notBefore'));
    assert.equal(clientVariable(f, 'SSL_CLIENT_V_END'), printed(out, 'notAfter'));
    assert.equal(clientVariable(f, 'SSL_CLIENT_CERT'), cert.pem);
    assert.equal(clientVariable(f, 'SSL_CLIENT_M_VERSION'), '3');
    const text = openssl(['x509', '-in', cert.certFile, '-noout', '-text']);
    assert.equal(clientVariable(f, 'SSL_CLIENT_A_SIG'), /Signature Algorithm: (\S+)/.exec(text)![1]);
    assert.equal(clientVariable(f, 'SSL_CLIENT_A_KEY'), /Public Key Algorithm: (\S+)/.exec(text)![1]);
  }
  const f = facts(person);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN'), Buffer.from('CN=\\ #lead\\\\back\\"q\\;a=b\\ ,emailAddress=jorg@example.org,CN=Jörg Müller+UID=jm42,OU=Ops \\<x\\>,OU=Dev,O=Smith\\, Jones,L=München,ST=Bayern,C=DE').toString('latin1'));
  assert.equal(clientVariable(f, 'SSL_CLIENT_A_SIG'), 'sha256WithRSAEncryption');
  assert.equal(clientVariable(f, 'SSL_CLIENT_A_KEY'), 'id-ecPublicKey');
  assert.equal(clientVariable(f, 'SSL_CLIENT_M_SERIAL'), 'FF01');
  assert.equal(clientVariable(f, 'SSL_CLIENT_CERT_RFC4523_CEA'), '{ serialNumber 65281, issuer rdnSequence:"CN=Test Root,O=Test CA\\, Inc.,C=DE" }');
});

test('components are printed as openssl prints them with esc_ctrl,utf8, repeated ones numbered from 0', () => {
  const f = facts(person);
  const lines = openssl(['x509', '-in', person.certFile, '-noout', '-subject', '-nameopt', 'esc_ctrl,utf8,sep_multiline,sname']).split('\n');
  const values = (name: string) => lines.flatMap((l) => l.replace(/^ {4}/, '').split(' + ')).filter((p) => p.startsWith(`${name}=`)).map((p) => p.slice(name.length + 1));
  const cn = values('CN');
  assert.equal(cn.length, 2);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_CN'), cn[0]);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_CN_0'), cn[0]);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_CN_1'), cn[1]);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_CN_1'), ' #lead\\\\back"q;a=b ');
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_CN_2'), undefined);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_OU_1'), values('OU')[1]);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_Email'), 'jorg@example.org');
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_UID'), 'jm42');
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_L'), Buffer.from('München').toString('latin1'));
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_SP'), 'Bayern');
  assert.equal(clientVariable(f, 'SSL_CLIENT_I_DN_O'), 'Test CA, Inc.');
  // mod_ssl matches the component's name with its case, `SSL_` and `CLIENT_` and `_DN_` without.
  assert.equal(clientVariable(f, 'ssl_client_S_dn_CN'), cn[0]);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_cn'), undefined);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_EMAIL'), undefined);
  assert.equal(clientVariable(f, 'SSL_CLIENT_s_DN'), undefined);
});

test('subjectAltName entries by kind and number; otherName forms by their exact name', () => {
  const f = facts(person);
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_Email_0'), 'jorg@example.org');
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_email_1'), 'j2@example.org');
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_Email_2'), undefined);
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_DNS_1'), 'b.example');
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_DNS_00001'), undefined);
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_OTHER_msUPN_0'), 'jorg@REALM');
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_OTHER_msupn_0'), undefined);
  assert.equal(clientVariable(f, 'SSL_CLIENT_SAN_OTHER_dnsSRV_0'), undefined);
  assert.equal(clientVariable(facts(plain), 'SSL_CLIENT_SAN_DNS_0'), undefined);
});

test('the verdict, the chain, and a connection without a certificate', () => {
  const f = facts(person, [ca]);
  assert.equal(clientVariable(f, 'SSL_CLIENT_VERIFY'), 'SUCCESS');
  assert.equal(clientVariable({ ...f, verify: 'FAILED:unable to verify the first certificate' }, 'SSL_CLIENT_VERIFY'), 'FAILED:unable to verify the first certificate');
  assert.equal(clientVariable(f, 'SSL_CLIENT_CERT_CHAIN_0'), ca.pem);
  assert.equal(clientVariable(f, 'SSL_CLIENT_CERT_CHAIN_1'), undefined);
  assert.equal(clientVariable(f, 'SSL_CLIENT_CERT_CHAIN_x'), undefined);
  assert.equal(clientVariable(undefined, 'SSL_CLIENT_VERIFY'), 'NONE');
  const none: ClientCertificateFacts = { verify: 'NONE', chain: [] };
  for (const name of ['SSL_CLIENT_S_DN', 'SSL_CLIENT_CERT', 'SSL_CLIENT_M_SERIAL', 'SSL_CLIENT_CERT_CHAIN_0', 'SSL_CLIENT_CERT_RFC4523_CEA']) {
    assert.equal(clientVariable(none, name), undefined, name);
  }
  for (const name of ['SSL_CLIENT_', 'SSL_CLIENT_X_DN', 'SSL_CLIENT_NOPE', 'SSL_SERVER_S_DN', 'HTTPS']) assert.equal(clientVariable(f, name), undefined, name);
});

test('V_REMAIN counts whole days to the end, as ASN1_TIME_diff does, and 0 once past', () => {
  const f = facts(person);
  const end = new X509Certificate(person.pem).validToDate.getTime();
  assert.equal(clientVariable(f, 'SSL_CLIENT_V_REMAIN', end - 10 * 86_400_000), '10');
  assert.equal(clientVariable(f, 'SSL_CLIENT_V_REMAIN', end - 10 * 86_400_000 + 1000), '9');
  assert.equal(clientVariable(f, 'SSL_CLIENT_V_REMAIN', end - 86_400_000 + 1000), '0');
  assert.equal(clientVariable(f, 'SSL_CLIENT_V_REMAIN', end + 5 * 86_400_000), '0');
});

test('the environment: +StdEnvVars gives the fixed list, components and SANs; +ExportCertData the PEMs', () => {
  const f = facts(person, [ca]);
  const std = clientEnvironment(f, { stdEnvVars: true, exportCertData: false });
  assert.equal(std.get('SSL_CLIENT_S_DN_CN'), clientVariable(f, 'SSL_CLIENT_S_DN_CN_0'));
  assert.equal(std.get('SSL_CLIENT_S_DN_CN_1'), clientVariable(f, 'SSL_CLIENT_S_DN_CN_1'));
  assert.equal(std.get('SSL_CLIENT_S_DN_OU_1'), 'Ops <x>');
  assert.equal(std.get('SSL_CLIENT_S_DN_EMAIL'), 'jorg@example.org');
  assert.equal(std.get('SSL_CLIENT_SAN_EMAIL_1'), 'j2@example.org');
  assert.equal(std.get('SSL_CLIENT_SAN_OTHER_MSUPN_0'), clientVariable(f, 'SSL_CLIENT_SAN_OTHER_msUPN_0'));
  assert.equal(std.get('SSL_CLIENT_VERIFY'), 'SUCCESS');
  assert.equal(std.get('SSL_CLIENT_I_DN'), clientVariable(f, 'SSL_CLIENT_I_DN'));
  assert.equal(std.has('SSL_CLIENT_CERT'), false);
  assert.equal(std.has('SSL_CLIENT_S_DN_SP'), false);
  const exported = clientEnvironment(f, { stdEnvVars: false, exportCertData: true });
  assert.deepEqual([...exported.keys()], ['SSL_CLIENT_CERT', 'SSL_CLIENT_CERT_CHAIN_0']);
  assert.equal(exported.get('SSL_CLIENT_CERT_CHAIN_0'), ca.pem);
  const none = clientEnvironment({ verify: 'NONE', chain: [] }, { stdEnvVars: true, exportCertData: true });
  assert.deepEqual([...none], [['SSL_CLIENT_VERIFY', 'NONE'], ['SSL_CLIENT_CERT', '']]);
});

// ---- names openssl will not write, put into a certificate by hand -----------------------------------------

const OIDS: Record<string, number[]> = {
  CN: [0x55, 0x04, 0x03],
  O: [0x55, 0x04, 0x0a],
  OU: [0x55, 0x04, 0x0b],
  UID: [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
  emailAddress: [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
  unknown: [0x2a, 0x03, 0x04, 0x85, 0x05],
};

interface Attribute {
  type: keyof typeof OIDS;
  tag: number;
  value: Uint8Array;
}

function name(rdns: Attribute[][]): Buffer {
  return tlv(0x30, ...rdns.map((rdn) => tlv(0x31, ...rdn.map((a) => tlv(0x30, tlv(0x06, Buffer.from(OIDS[a.type]!)), tlv(a.tag, a.value))))));
}

/** `template` with its subject replaced by `subject`; the signature no longer matches, which printing ignores. */
function withSubject(template: Buffer, subject: Buffer): Buffer {
  const [tbs, algorithm, signature] = childrenOf(readOne(template))!;
  const fields = childrenOf(tbs)!.map((f) => f.encoding);
  fields[5] = subject;
  return tlv(0x30, tlv(0x30, ...fields), algorithm!.encoding, signature!.encoding);
}

const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();
const utf32 = (s: string): Buffer => Buffer.concat([...s].map((ch) => { const b = Buffer.alloc(4); b.writeUInt32BE(ch.codePointAt(0)!); return b; }));

const STRANGE: Attribute[][] = [
  [{ type: 'CN', tag: 0x1e, value: utf16('Ωmega, "quoted"') }],
  [{ type: 'O', tag: 0x1c, value: utf32('smile 😀 #') }],
  [{ type: 'OU', tag: 0x14, value: Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x5c]) }],
  [{ type: 'CN', tag: 0x0c, value: Buffer.from('tab\there\x01\x7f') }, { type: 'UID', tag: 0x13, value: Buffer.from('#') }],
  [{ type: 'unknown', tag: 0x0c, value: Buffer.from('x,y') }],
  [{ type: 'CN', tag: 0x0c, value: Buffer.from(' ') }],
  [{ type: 'CN', tag: 0x0c, value: Buffer.from('') }],
  [{ type: 'emailAddress', tag: 0x16, value: Buffer.from('a+b@example.org') }],
  [{ type: 'CN', tag: 0x13, value: Buffer.from('#=<>;') }],
];

test('names with every string type, escapes, unknown types and multi-valued RDNs print as openssl prints them', () => {
  const template = Buffer.from(new X509Certificate(plain.pem).raw);
  const der = withSubject(template, name(STRANGE));
  const f: ClientCertificateFacts = { verify: 'SUCCESS', certificate: new X509Certificate(der), chain: [] };
  const out = openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], der);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN'), printed(out, 'subject'));
  assert.match(clientVariable(f, 'SSL_CLIENT_S_DN')!, /^CN=\\#=\\<\\>\\;,emailAddress=a\\\+b@example.org,CN=,CN=\\ ,1\.2\.3\.4\.645=#0C03782C79,UID=#\+CN=tab\\09here\\01\\7F,/);
  const lines = openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'esc_ctrl,utf8,sep_multiline,sname'], der).split('\n').slice(1);
  // openssl's lines are in the certificate's order; mod_ssl's components count in that order too.
  const cns = lines.flatMap((l) => l.replace(/^ {4}/, '').split(' + ')).filter((p) => p.startsWith('CN=')).map((p) => p.slice(3));
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => clientVariable(f, `SSL_CLIENT_S_DN_CN_${i}`)), [...cns.map((v) => v || undefined), undefined]);
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_O'), Buffer.from('smile 😀 #').toString('latin1'));
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_CN_RAW'), 'Ωmega, "quoted"'.replace('Ω', '\\U03A9'));
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_OU'), Buffer.from('Café\\\\').toString('latin1'));
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN_OU_RAW'), 'Caf\xe9\\\\');
});

test('the table of names is OpenSSL\'s: every short name in a DN, every algorithm\'s long name as SSL_CLIENT_A_SIG', () => {
  const template = Buffer.from(new X509Certificate(plain.pem).raw);
  const oids = [...OBJECT_NAMES.keys()];
  const subject = tlv(0x30, ...oids.map((o) => tlv(0x31, tlv(0x30, oid(o), tlv(0x0c, Buffer.from('v'))))));
  const der = withSubject(template, subject);
  const f: ClientCertificateFacts = { verify: 'SUCCESS', certificate: new X509Certificate(der), chain: [] };
  assert.equal(clientVariable(f, 'SSL_CLIENT_S_DN'), printed(openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], der), 'subject'));
  const [tbs, algorithm, signature] = childrenOf(readOne(template))!;
  // The algorithms: the rest are attribute types, whose long names mod_ssl never prints.
  const algorithms = oids.filter((id) => !/^(2\.5\.4\.|0\.9\.|1\.2\.840\.113549\.1\.9\.|1\.3\.6\.1\.4\.1\.311\.60\.)/.test(id));
  const signed = algorithms.map((o) => {
    const fields = childrenOf(tbs)!.map((field) => field.encoding);
    fields[2] = tlv(0x30, oid(o));
    return tlv(0x30, tlv(0x30, ...fields), algorithm!.encoding, signature!.encoding);
  });
  // One openssl run prints them all, in order, from a PKCS #7 bundle.
  const file = join(dir, 'algorithms.pem');
  writeFileSync(file, signed.map((d) => `-----BEGIN CERTIFICATE-----\n${d.toString('base64')}\n-----END CERTIFICATE-----\n`).join(''));
  const bundle = execFileSync('openssl', ['crl2pkcs7', '-nocrl', '-certfile', file], { timeout: 30_000 });
  const texts = openssl(['pkcs7', '-print_certs', '-text', '-noout'], bundle).split(/^Certificate:$/m).slice(1);
  assert.equal(texts.length, algorithms.length);
  algorithms.forEach((o, i) => {
    const f2: ClientCertificateFacts = { verify: 'SUCCESS', certificate: new X509Certificate(signed[i]!), chain: [] };
    // openssl notes broken parameters after the name, two spaces on.
    assert.equal(clientVariable(f2, 'SSL_CLIENT_A_SIG'), /Signature Algorithm: (.+?)(?: {2,}\(.*\))?$/m.exec(texts[i]!)![1], o);
  });
});

const ATTRIBUTE = fc.oneof(
  fc.record({ type: fc.constantFrom<Attribute['type']>('CN', 'O', 'OU', 'UID', 'emailAddress', 'unknown'), tag: fc.constant(0x0c), value: fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => Buffer.from(s)) }),
  fc.record({ type: fc.constantFrom<Attribute['type']>('CN', 'O'), tag: fc.constantFrom(0x13, 0x14, 0x16), value: fc.uint8Array({ maxLength: 12 }) }),
  fc.record({ type: fc.constant<Attribute['type']>('OU'), tag: fc.constant(0x1e), value: fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => !/[\ud800-\udfff]/.test(s)).map(utf16) }),
  fc.record({ type: fc.constant<Attribute['type']>('CN'), tag: fc.constant(0x1c), value: fc.string({ unit: 'binary', maxLength: 6 }).filter((s) => s.isWellFormed()).map(utf32) }),
);

test('property: any name of string attributes prints as openssl prints it', () => {
  const template = Buffer.from(new X509Certificate(plain.pem).raw);
  fc.assert(
    fc.property(fc.array(fc.array(ATTRIBUTE, { minLength: 1, maxLength: 3 }), { maxLength: 5 }), (rdns) => {
      const subject = name(rdns);
      const expected = printed(openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], withSubject(template, subject)), 'subject');
      assert.equal(rfc2253(nameEntries(readOne(subject))!), expected);
    }),
    { numRuns: 60 },
  );
});

const VARIABLES = ['VERIFY', 'CERT', 'S_DN', 'I_DN', 'S_DN_CN', 'S_DN_CN_1_RAW', 'I_DN_O', 'M_SERIAL', 'M_VERSION', 'V_START', 'V_END', 'V_REMAIN', 'A_SIG', 'A_KEY', 'SAN_Email_0', 'SAN_DNS_0', 'SAN_OTHER_msUPN_0', 'CERT_RFC4523_CEA', 'CERT_CHAIN_0'];

test('property: no bytes, however broken, make a variable throw', () => {
  const real = Buffer.from(new X509Certificate(person.pem).raw);
  const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(real.length)).map(([edits, cut]) => {
    const copy = Buffer.from(real);
    for (const [at, byte] of edits) copy[at] = byte;
    return copy.subarray(0, cut === 0 ? copy.length : cut);
  });
  fc.assert(
    fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 })), (bytes) => {
      parseCertificate(bytes);
      nameEntries(readOne(bytes));
      const certificate = { raw: Buffer.from(bytes) } as X509Certificate;
      const f: ClientCertificateFacts = { verify: 'SUCCESS', certificate, chain: [certificate] };
      for (const v of VARIABLES) {
        const value = clientVariable(f, `SSL_CLIENT_${v}`);
        assert.ok(value === undefined || (value !== '' && /^[\x00-\xff]*$/.test(value)));
      }
      clientEnvironment(f, { stdEnvVars: true, exportCertData: true });
    }),
    { numRuns: 1500 },
  );
});

test('a certificate is read once per connection: more requests, rules and environments read its DER no more; V_REMAIN still counts from now', () => {
  let reads = 0;
  /** The connection's certificate, counting the reads of its DER. */
  const counted = (pem: string): X509Certificate => {
    const cert = new X509Certificate(pem);
    return new Proxy(cert, {
      get(target, key) {
        if (key === 'raw') reads++;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  const facts: ClientCertificateFacts = { verify: 'SUCCESS', certificate: counted(person.pem), chain: [counted(ca.pem)] };
  const options = { stdEnvVars: true, exportCertData: true };
  const now = Date.now() + 100 * 86_400_000;
  const request = (at: number): unknown[] => [
    ...['SSL_CLIENT_S_DN', 'SSL_CLIENT_S_DN_CN', 'SSL_CLIENT_CERT', 'SSL_CLIENT_CERT_CHAIN_0', 'SSL_CLIENT_M_SERIAL', 'SSL_CLIENT_CERT_RFC4523_CEA'].map((v) => clientVariable(facts, v, at)),
    [...clientEnvironment(facts, options, at)],
    clientCertField(facts.certificate!),
    clientCertChainField(facts.chain),
  ];
  const first = request(now);
  const afterOne = reads;
  assert.deepEqual(request(now), first);
  assert.deepEqual(request(now), first);
  assert.equal(reads, afterOne);
  const later = now - 3 * 86_400_000;
  assert.equal(clientEnvironment(facts, options, later).get('SSL_CLIENT_V_REMAIN'), String(Number(clientVariable(facts, 'SSL_CLIENT_V_REMAIN', now)) + 3));
  assert.equal(clientVariable(facts, 'SSL_CLIENT_V_REMAIN', later), clientEnvironment(facts, options, later).get('SSL_CLIENT_V_REMAIN'));
  // Another virtual host's options give its own environment.
  assert.equal(clientEnvironment(facts, { stdEnvVars: false, exportCertData: true }, now).has('SSL_CLIENT_S_DN'), false);
});
