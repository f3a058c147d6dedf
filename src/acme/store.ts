// The ACME store on disk (mod_md's MDStoreDir): one account key per CA, each domain's certificate and key. Keys
// are 0600 and every file is replaced whole (fs/atomic-file.ts), so a crash mid-renewal leaves the old
// certificate or the new one, never half of either; the directories are 0700.
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, lchownSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { domainFiles, type KeyType, type ManagedDomain } from '../config/model.ts';
import { writeFileAtomically } from '../fs/atomic-file.ts';

/** The account key's file for a CA: one account per directory URL, kept across restarts. */
export function accountKeyFile(storeDir: string, caUrl: string): string {
  const url = new URL(caUrl);
  const place = `${url.host}${url.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/_+$/, '');
  return `${storeDir.replace(/\/+$/, '')}/accounts/${place}/account.key`;
}

/** The account key, made (and kept, 0600) the first time a CA is used. */
export function accountKey(storeDir: string, caUrl: string): Buffer {
  const file = accountKeyFile(storeDir, caUrl);
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = newPrivateKey('secp256r1');
  writeSecret(file, key);
  return Buffer.from(key);
}

/** A fresh private key of the configured type, PKCS#8 PEM. */
export function newPrivateKey(type: KeyType): string {
  const pair = type.startsWith('rsa')
    ? generateKeyPairSync('rsa', { modulusLength: Number(type.slice(3)) })
    : generateKeyPairSync('ec', { namedCurve: type === 'secp384r1' ? 'secp384r1' : 'prime256v1' });
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export interface StoredCertificate {
  /** The leaf first, then its chain. */
  certificate: string;
  key: string;
  leaf: X509Certificate;
}

/**
 * The domain's certificate and key as the store holds them; undefined when either is missing or unreadable. A key
 * whose certificate is still staged (writeDomain stopped by a crash between the two) gets it put in place now.
 */
export function readDomain(storeDir: string, domain: ManagedDomain): StoredCertificate | undefined {
  const files = domainFiles(storeDir, domain);
  const pair = readPair(files.certificateFile, files.keyFile);
  if (pair !== 'mismatch') return pair;
  const staged = readPair(stagedCertificate(files.certificateFile), files.keyFile);
  if (staged === 'mismatch' || staged === undefined) return undefined;
  try {
    renameSync(stagedCertificate(files.certificateFile), files.certificateFile);
  } catch {
    return undefined;
  }
  return staged;
}

function readPair(certificateFile: string, keyFile: string): StoredCertificate | 'mismatch' | undefined {
  try {
    const certificate = readFileSync(certificateFile, 'utf8');
    const key = readFileSync(keyFile, 'utf8');
    const leaf = new X509Certificate(certificate);
    return leaf.checkPrivateKey(createPrivateKey(key)) ? { certificate, key, leaf } : 'mismatch';
  } catch {
    return undefined;
  }
}

/** Where the new certificate waits while its key replaces the old one. */
const stagedCertificate = (certificateFile: string) => `${certificateFile}.next`;

/** The account a store written as root belongs to: the one Stickler serves as once it drops root (`User`). */
export interface StoreOwner {
  uid: number;
  gid: number;
}

/**
 * Writes a domain's certificate beside the old one (staged), then its key, then moves the certificate in place: a
 * crash at any point leaves the old pair, or a new key whose certificate readDomain finds staged, never a key with
 * no certificate of its own (which would put a temporary certificate in place of a valid one at the next start).
 * With `owner` (root writing before the drop), the directories this made and both files become the owner's, so the
 * renewals it runs as that account can replace them.
 */
export function writeDomain(storeDir: string, domain: ManagedDomain, certificate: string, key: string, owner?: StoreOwner): void {
  const files = domainFiles(storeDir, domain);
  const staged = stagedCertificate(files.certificateFile);
  mkdirOwned(dirname(staged), owner);
  writeFileAtomically(staged, certificate);
  chmodSync(staged, 0o644);
  if (owner) lchownSync(staged, owner.uid, owner.gid);
  writeSecret(files.keyFile, key, owner);
  renameSync(staged, files.certificateFile);
}

function writeSecret(file: string, data: string, owner?: StoreOwner): void {
  mkdirOwned(dirname(file), owner);
  writeFileAtomically(file, data);
  if (owner) lchownSync(file, owner.uid, owner.gid);
}

function mkdirOwned(directory: string, owner?: StoreOwner): void {
  const made = mkdirSync(directory, { recursive: true, mode: 0o700 });
  // Only what was made now: a directory that was there (/var/lib/stickler) keeps its owner.
  if (owner && made !== undefined) {
    for (let dir = directory; dir.length >= made.length; dir = dirname(dir)) lchownSync(dir, owner.uid, owner.gid);
  }
}
