// The ACME store on disk: one account key per CA, kept across restarts and readable by its owner only; a domain's
// key 0600; what root writes before dropping to User belongs to User, what was there before keeps its owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountKey, accountKeyFile, readDomain, writeDomain } from '../../src/acme/store.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import { domainFiles } from '../../src/config/model.ts';

const DIRECTORY = 'https://ca.example:14000/dir';
const domain = { source: { file: 't', line: 1 }, names: ['www.example.org'], settings: {} } as never;

test('the account key is made once, 0600 in a 0700 directory, and read back the same after a restart', () => {
  const store = join(mkdtempSync(join(tmpdir(), 'stickler-store-')), 'md');
  const first = accountKey(store, DIRECTORY);
  const file = accountKeyFile(store, DIRECTORY);
  assert.equal(file, `${store}/accounts/ca.example_14000_dir/account.key`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(file, '..')).mode & 0o777, 0o700);
  assert.deepEqual(accountKey(store, DIRECTORY), first);
});

test('a domain is written key first, 0600, and read back only as a matching pair', () => {
  const store = mkdtempSync(join(tmpdir(), 'stickler-store-'));
  const { cert, key } = createSelfSigned({ commonName: 'www.example.org', altNames: { dns: ['www.example.org'] } });
  writeDomain(store, domain, cert, key);
  const files = domainFiles(store, { names: ['www.example.org'] });
  assert.equal(statSync(files.keyFile).mode & 0o777, 0o600);
  assert.equal(readDomain(store, domain)?.certificate, cert);
  const other = createSelfSigned({ commonName: 'x', altNames: {} });
  writeDomain(store, domain, cert, other.key);
  assert.equal(readDomain(store, domain), undefined, 'a key that does not match is no certificate');
});

test('root writing before the drop gives what it makes to the account, and leaves what was there', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const parent = mkdtempSync(join(tmpdir(), 'stickler-store-'));
  const store = join(parent, 'md');
  const { cert, key } = createSelfSigned({ commonName: 'www.example.org', altNames: { dns: ['www.example.org'] } });
  writeDomain(store, domain, cert, key, { uid: 65534, gid: 65534 });
  const files = domainFiles(store, { names: ['www.example.org'] });
  for (const path of [store, join(store, 'domains'), join(files.keyFile, '..'), files.keyFile, files.certificateFile]) {
    assert.equal(statSync(path).uid, 65534, `${path} belongs to the account`);
  }
  assert.equal(statSync(parent).uid, 0, 'the directory that was there keeps its owner');
});
