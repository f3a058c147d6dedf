// Client certificates for members read from their files: each file once, each problem once, at the line naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClientCertificate, type ReadFile } from '../../src/tls/credentials.ts';
import { formatDiagnostic } from '../../src/config/model.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';

const at = { file: '/etc/apache2/sites-enabled/idp.conf', line: 12 };
const leaf = createSelfSigned({ commonName: 'proxy', altNames: { dns: ['proxy'] } });
const other = createSelfSigned({ commonName: 'intermediate', altNames: { dns: ['intermediate'] } });

/** An in-memory file system that counts reads. */
function files(contents: Record<string, string>): { read: ReadFile; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    reads,
    read: (path) => {
      reads.set(path, (reads.get(path) ?? 0) + 1);
      const text = contents[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return Buffer.from(text);
    },
  };
}

const apache = (path: string) => ({ source: at, certificateFile: path, keyFile: path });
const problems = (loaded: ReturnType<typeof loadClientCertificate>) => (Array.isArray(loaded) ? loaded.map(formatDiagnostic) : []);

test('Apache\'s one file with the certificate and its key is read once, and loads', () => {
  const fs = files({ '/p.pem': leaf.cert + leaf.key });
  const loaded = loadClientCertificate(apache('/p.pem'), 'apache', fs.read);
  assert.ok(!Array.isArray(loaded), problems(loaded).join('\n'));
  assert.deepEqual([...fs.reads], [['/p.pem', 1]]);
});

test('a missing combined file is one error, not one for the certificate and one for the key', () => {
  assert.deepEqual(problems(loadClientCertificate(apache('/gone.pem'), 'apache', files({}).read)), [
    '/etc/apache2/sites-enabled/idp.conf:12: SSLProxyMachineCertificateFile: cannot read /gone.pem: no such file (ENOENT)',
  ]);
});

test('several pairs in one file, or intermediates there, are refused with what to do instead', () => {
  const fs = files({ '/two.pem': leaf.cert + leaf.key + other.cert + other.key, '/chain.pem': leaf.cert + other.cert + leaf.key });
  assert.deepEqual(problems(loadClientCertificate(apache('/two.pem'), 'apache', fs.read)), [
    '/etc/apache2/sites-enabled/idp.conf:12: SSLProxyMachineCertificateFile: /two.pem holds 2 keys and 2 certificates: httpd picks among several pairs by the CA names the member asks for, which Stickler cannot; expected one certificate and its key (another certificate in its own <Proxy> section)',
  ]);
  assert.deepEqual(problems(loadClientCertificate(apache('/chain.pem'), 'apache', fs.read)), [
    '/etc/apache2/sites-enabled/idp.conf:12: SSLProxyMachineCertificateFile: /chain.pem holds 2 certificates and one key: intermediates do not go here (httpd refuses them too); expected the certificate and its key, with the intermediates in SSLProxyMachineCertificateChainFile',
  ]);
});

test('native: a certificate file followed by its intermediates, with the key in it too, loads', () => {
  const fs = files({ '/c.pem': leaf.cert + other.cert + leaf.key });
  const loaded = loadClientCertificate({ source: at, certificateFile: '/c.pem', keyFile: '/c.pem' }, 'native', fs.read);
  assert.ok(!Array.isArray(loaded), problems(loaded).join('\n'));
});
