// The verdict on a client certificate after the handshake, as mod_ssl gives it (SSL_CLIENT_VERIFY), from what
// OpenSSL left: the chain it built and its last error. Certificates come from a CA made with openssl at test time.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { ClientCertificates } from '../../src/config/model.ts';
import { clientVerdict, issuerChain, opensslReason, refusalLine } from '../../src/tls/client-verify.ts';
import { testCa, testClientCa, type ClientCa } from '../support/certs.ts';

let ca: ClientCa;
const x509 = (file: string) => new X509Certificate(readFileSync(file));
let root: X509Certificate;


before(async () => {
  ca = await testClientCa(mkdtempSync(join(tmpdir(), 'stickler-verdict-')));
  root = x509(ca.caFile);
});

function settings(verify: ClientCertificates['verify'], extra: Partial<ClientCertificates> = {}): ClientCertificates {
  return { source: { file: 't', line: 1 }, verify, depth: 1, caFiles: [ca.caFile], crlFiles: [], crlCheck: 'none', forwardRfc9440: false, ...extra };
}

function verdict(s: ClientCertificates, peerChain: X509Certificate[], error: string | null) {
  const v = clientVerdict(s, { sent: peerChain, error }, [root], new Date());
  return { verify: v.facts.verify, refused: v.refusal !== undefined };
}

test('no certificate: NONE, refused only by require', () => {
  assert.deepEqual(verdict(settings('require'), [], 'UNABLE_TO_GET_ISSUER_CERT'), { verify: 'NONE', refused: true });
  assert.deepEqual(verdict(settings('optional'), [], 'UNABLE_TO_GET_ISSUER_CERT'), { verify: 'NONE', refused: false });
  assert.deepEqual(verdict(settings('optional_no_ca'), [], 'UNABLE_TO_GET_ISSUER_CERT'), { verify: 'NONE', refused: false });
});

test('the chain kept is what the client sent after its certificate, and the depth counts the CA that issued it', () => {
  const v = clientVerdict(settings('require'), { sent: [x509(ca.valid.certFile), root], error: null }, [root], new Date());
  assert.deepEqual(v.facts.chain.map((c) => c.subject), [root.subject]);
  assert.deepEqual(issuerChain([x509(ca.valid.certFile)], [x509(ca.unknown.certFile), root]).map((c) => c.subject), ['CN=alice', root.subject]);
  assert.deepEqual(issuerChain([x509(ca.unknown.certFile)], [root]).map((c) => c.subject), ['CN=eve']);
});

test('a verified certificate is SUCCESS at every level', () => {
  for (const level of ['require', 'optional', 'optional_no_ca'] as const) {
    const v = clientVerdict(settings(level), { sent: [x509(ca.valid.certFile)], error: null }, [root], new Date());
    assert.equal(v.facts.verify, 'SUCCESS');
    assert.equal(v.refusal, undefined);
    assert.equal(v.facts.certificate?.subject, 'CN=alice');
    assert.deepEqual(v.facts.chain, []);
  }
});

test('SSLVerifyDepth: a chain reaching further above the certificate than allowed fails, as mod_ssl\'s callback does', () => {
  assert.deepEqual(verdict(settings('require', { depth: 0 }), [x509(ca.valid.certFile)], null), { verify: 'FAILED:certificate chain too long', refused: true });
  assert.deepEqual(verdict(settings('require', { depth: 1 }), [x509(ca.valid.certFile)], null), { verify: 'SUCCESS', refused: false });
});

test('a known issuer\'s bad certificate fails at every level with OpenSSL\'s words', () => {
  for (const level of ['require', 'optional', 'optional_no_ca'] as const) {
    assert.deepEqual(verdict(settings(level), [x509(ca.expired.certFile)], 'CERT_HAS_EXPIRED'), { verify: 'FAILED:certificate has expired', refused: true });
    assert.deepEqual(verdict(settings(level), [x509(ca.revoked.certFile)], 'CERT_REVOKED'), { verify: 'FAILED:certificate revoked', refused: true });
  }
});

test('an unknown issuer: let in under optional_no_ca only, as httpd 2.4 does (FAILED: and OpenSSL\'s words), unless the certificate is out of date or CRLs are checked', () => {
  const unknown = [x509(ca.unknown.certFile)];
  assert.deepEqual(verdict(settings('optional_no_ca'), unknown, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { verify: 'FAILED:unable to verify the first certificate', refused: false });
  assert.deepEqual(verdict(settings('optional_no_ca'), unknown, 'DEPTH_ZERO_SELF_SIGNED_CERT'), { verify: 'FAILED:self-signed certificate', refused: false });
  assert.deepEqual(verdict(settings('optional'), unknown, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { verify: 'FAILED:unable to verify the first certificate', refused: true });
  assert.deepEqual(verdict(settings('require'), unknown, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), { verify: 'FAILED:unable to get local issuer certificate', refused: true });
  // OpenSSL stops at the unknown issuer and reports it last, though the certificate is expired too.
  assert.deepEqual(verdict(settings('optional_no_ca'), [x509(ca.unknownExpired.certFile)], 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { verify: 'FAILED:certificate has expired', refused: true });
  assert.deepEqual(verdict(settings('optional_no_ca', { crlCheck: 'chain', crlFiles: [ca.crlFile] }), unknown, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { verify: 'FAILED:unable to get certificate CRL', refused: true });
  // Not an issuer error: never generous.
  assert.deepEqual(verdict(settings('optional_no_ca'), unknown, 'CERT_SIGNATURE_FAILURE'), { verify: 'FAILED:certificate signature failure', refused: true });
});

test('OpenSSL codes without a listed text are spelt out from their name', () => {
  assert.equal(opensslReason('SOME_NEW_ERROR'), 'some new error');
  assert.equal(opensslReason('CERT_UNTRUSTED'), 'certificate not trusted');
});

test('property: a client goes on only with NONE (not under require), SUCCESS, or an unknown issuer under optional_no_ca', () => {
  const codes = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_REVOKED', 'UNABLE_TO_GET_CRL', 'X'];
  fc.assert(fc.property(
    fc.constantFrom('require', 'optional', 'optional_no_ca') as fc.Arbitrary<ClientCertificates['verify']>,
    fc.constantFrom('valid', 'expired', 'revoked', 'unknown', 'unknownExpired', 'none'),
    fc.option(fc.constantFrom(...codes), { nil: null }),
    fc.integer({ min: 0, max: 3 }), fc.constantFrom('none', 'chain') as fc.Arbitrary<ClientCertificates['crlCheck']>,
    (level, client, error, depth, crlCheck) => {
      const chain = client === 'none' ? [] : client.startsWith('unknown') ? [x509(ca[client as 'unknown'].certFile)] : [x509(ca[client as 'valid'].certFile)];
      const v = clientVerdict(settings(level, { depth, crlCheck }), { sent: chain, error }, [root], new Date());
      const failed = v.facts.verify.startsWith('FAILED:');
      if (v.refusal === undefined) {
        assert.ok(['NONE', 'SUCCESS'].includes(v.facts.verify) || (failed && level === 'optional_no_ca' && client.startsWith('unknown')), v.facts.verify);
        assert.ok(!(v.facts.verify === 'NONE' && level === 'require'));
      } else {
        assert.equal(v.facts.verify, v.facts.certificate ? `FAILED:${v.refusal}` : 'NONE');
      }
    },
  ), { numRuns: 300 });
});

test('a refusal\'s log line names the client, the port, the DN and the reason, with none of the DN\'s control characters', () => {
  const v = clientVerdict(settings('require'), { sent: [x509(ca.expired.certFile)], error: 'CERT_HAS_EXPIRED' }, [root], new Date());
  assert.equal(refusalLine('192.0.2.7', 443, v), 'client 192.0.2.7 refused on port 443 (certificate CN=bob): certificate has expired');
  const forged = { facts: { verify: 'FAILED:x', certificate: { subject: `CN=a\u0007b\r\nO=evil\u2028${'x'.repeat(300)}` } as X509Certificate, chain: [] }, refusal: 'x' };
  const line = refusalLine('192.0.2.7', 443, forged);
  assert.doesNotMatch(line, /[\u0000-\u001f\u2028]/);
  assert.match(line, /^client 192\.0\.2\.7 refused on port 443 \(certificate CN=a\?b\?, O=evil\?x+\.\.\.\): x$/);
  assert.ok(line.length < 300);
});

test('no character that could rewrite how a log line reads (controls, bidi overrides, separators) reaches it from any DN', async () => {
  // A real certificate: Node escapes C0 controls in a subject but passes UTF-8 through, bidi overrides included.
  const spoof = await (await testCa(mkdtempSync(join(tmpdir(), 'stickler-verdict-dn-')))).issue('admin\u202e\u2066gpj.exe\u200f');
  const real = clientVerdict(settings('require'), { sent: [x509(spoof.certFile)], error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, [root], new Date());
  assert.match(refusalLine('192.0.2.7', 443, real), /\(certificate CN=admin\?\?gpj\.exe\?\)/);
  const astral = refusalLine('192.0.2.7', 443, { facts: { verify: 'FAILED:x', certificate: { subject: `CN=${'\u{1F600}'.repeat(300)}` } as X509Certificate, chain: [] }, refusal: 'x' });
  assert.doesNotMatch(astral, /\p{Cs}/u, 'a surrogate pair cut in half');
  // An empty subject, which a certificate with a subjectAltName may have: Node gives no subject at all.
  const nameless = await (await testCa(mkdtempSync(join(tmpdir(), 'stickler-verdict-empty-')))).issue('', { extensions: { altNames: 'DNS:nameless.example' } });
  const refusal = clientVerdict(settings('require'), { sent: [x509(nameless.certFile)], error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, [root], new Date());
  assert.equal(refusalLine('192.0.2.7', 443, refusal), 'client 192.0.2.7 refused on port 443 (certificate with an empty subject): unable to verify the first certificate');
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (subject) => {
    const line = refusalLine('192.0.2.7', 443, { facts: { verify: 'FAILED:x', certificate: { subject } as X509Certificate, chain: [] }, refusal: 'x' });
    assert.doesNotMatch(line, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
    assert.ok([...line].length <= 300);
  }));
});
