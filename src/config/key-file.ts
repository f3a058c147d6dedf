// A file of secret key bytes (the balancer cookie's `key-file`), read once when the configuration is loaded: a
// key that is missing, short, readable by everyone or replaceable by others must stop the load, not surface as
// forged cookies later.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** What HMAC-SHA256 needs to be as strong as its output (RFC 2104 §3: at least the hash length). */
export const MIN_KEY_BYTES = 32;
/** Far beyond any key; a bigger file is another file named by mistake (a certificate, a log), not read whole. */
export const MAX_KEY_BYTES = 4096;

/**
 * Why a file of secrets with permission bits `mode` is not safe to trust, or undefined. Anyone on the machine who
 * can read it holds the secret; anyone who can write it can put in one they know.
 */
export function secretFileExposure(mode: number): string | undefined {
  const bits = `mode ${(mode & 0o777).toString(8)}`;
  if ((mode & 0o004) !== 0) return `readable by every user (${bits})`;
  if ((mode & 0o022) !== 0) return `writable by other users (${bits})`;
  return undefined;
}

export function readKeyFile(path: string): { key: Uint8Array } | { error: string } {
  const make = `expected a file of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes that other users can neither read nor write, made with \`head -c 32 /dev/urandom > FILE; chmod 600 FILE\``;
  let fd: number | undefined;
  let key: Buffer;
  try {
    // One descriptor for the checks and the read, so the file checked is the file read even if the path is swapped
    // meanwhile; non-blocking, so that a FIFO named by mistake cannot hang the load at open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { error: `${path} is not a file; ${make}` };
    // A key others can read signs a cookie for the member of their choice; one they can write, a key they know.
    const exposure = secretFileExposure(stat.mode);
    if (exposure !== undefined) return { error: `${path} is ${exposure}; ${make}` };
    const buffer = Buffer.alloc(MAX_KEY_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    key = buffer.subarray(0, length);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: `cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code ?? String(err)}); ${make}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (key.length < MIN_KEY_BYTES) return { error: `${path} holds ${key.length} bytes, too short a key; ${make}` };
  if (key.length > MAX_KEY_BYTES) return { error: `${path} holds more than ${MAX_KEY_BYTES} bytes, too long for a key (another file?); ${make}` };
  return { key: new Uint8Array(key) };
}
