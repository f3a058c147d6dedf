// A file of secret key bytes (the balancer cookie's `key-file`), read once when the configuration is loaded: a
// key that is missing, short or readable by everyone must stop the load, not surface as forged cookies later.
import { readFileSync, statSync } from 'node:fs';

/** What HMAC-SHA256 needs to be as strong as its output (RFC 2104 §3: at least the hash length). */
export const MIN_KEY_BYTES = 32;

export function readKeyFile(path: string): { key: Uint8Array } | { error: string } {
  const make = 'expected a file of at least 32 random bytes readable only by Stickler, made with `head -c 32 /dev/urandom > FILE; chmod 600 FILE`';
  let key: Buffer;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return { error: `${path} is not a file; ${make}` };
    // Anyone on the machine who can read the key can sign a cookie for the member of their choice.
    if ((stat.mode & 0o004) !== 0) return { error: `${path} is readable by every user (mode ${(stat.mode & 0o777).toString(8)}); ${make}` };
    key = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: `cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code ?? String(err)}); ${make}` };
  }
  if (key.length < MIN_KEY_BYTES) return { error: `${path} holds ${key.length} bytes, too short a key; ${make}` };
  return { key: new Uint8Array(key) };
}
