// The ACME store on disk: one account key per CA, kept across restarts and readable by its owner only; a domain's
// key 0600; what root writes before dropping to User belongs to User, what was there before keeps its owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountKey, accountKeyFile, readDomain, writeDomain } from '../../src/acme/store.ts';
import { prepareStore } from '../../src/acme/renewer.ts';
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

test('a domain\'s key is 0600, and it is read back only as a matching pair', () => {
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

test('a crash between the key and the certificate of a renewal leaves a pair that serves, not a temporary certificate', () => {
  const store = mkdtempSync(join(tmpdir(), 'stickler-store-'));
  const files = domainFiles(store, { names: ['www.example.org'] });
  const old = createSelfSigned({ commonName: 'www.example.org', altNames: { dns: ['www.example.org'] } });
  const renewed = createSelfSigned({ commonName: 'www.example.org', altNames: { dns: ['www.example.org'] } });
  writeDomain(store, domain, old.cert, old.key);
  // What the disk holds when the renewal stops after its key is in place: the certificate written so far is the
  // new one staged beside the old (the renewal writes the certificate first); a whole run to copy from.
  const finished = mkdtempSync(join(tmpdir(), 'stickler-store-'));
  const finishedFiles = domainFiles(finished, { names: ['www.example.org'] });
  writeDomain(finished, domain, renewed.cert, renewed.key);
  copyFileSync(finishedFiles.certificateFile, `${files.certificateFile}.next`);
  copyFileSync(finishedFiles.keyFile, files.keyFile);
  const config = { managedDomains: [{ ...(domain as object), settings: { storeDir: store } }] } as never;
  assert.deepEqual(prepareStore(config), []);
  assert.equal(readDomain(store, domain)?.certificate, renewed.cert, 'the renewed pair, completed at the next read');
  assert.equal(existsSync(`${files.certificateFile}.next`), false);
  assert.equal(statSync(files.certificateFile).mode & 0o777, 0o644);
});

test('a renewal written whole leaves no staged certificate behind', () => {
  const store = mkdtempSync(join(tmpdir(), 'stickler-store-'));
  const files = domainFiles(store, { names: ['www.example.org'] });
  const { cert, key } = createSelfSigned({ commonName: 'www.example.org', altNames: { dns: ['www.example.org'] } });
  writeDomain(store, domain, cert, key);
  assert.equal(existsSync(`${files.certificateFile}.next`), false);
  assert.equal(statSync(files.certificateFile).mode & 0o777, 0o644);
});
