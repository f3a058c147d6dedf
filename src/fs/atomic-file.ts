// Every file Stickler writes whole (the manager's state file, the pid file, the demo's certificate and
// configuration) is replaced, never written in place: a reader, or a restart after a crash at any moment, finds the
// old content or the new, never part of either. The content goes to a new file beside the target, under a name
// nobody can guess, created only if nothing (not even a symlink) is there yet and readable by the owner alone; it is
// flushed, renamed over the target, and the directory is flushed so that the rename survives a power cut. rename(2)
// replaces a symlink at the target instead of writing through it, so no path ever leads the write elsewhere.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

const temporaryPrefix = (file: string) => `.${basename(file)}.`;
const TEMPORARY_SUFFIX = '.tmp';

/** Replaces `file` with `data`; the new file is mode 0600. Throws what the file system reports (ENOENT, EACCES...). */
export function writeFileAtomically(file: string, data: string | Uint8Array): void {
  const temporary = join(dirname(file), `${temporaryPrefix(file)}${randomBytes(8).toString('hex')}${TEMPORARY_SUFFIX}`);
  const fd = createNew(temporary);
  try {
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * Creates `path` for writing, mode 0600, only if nothing is there: an existing file, directory or symlink (even
 * one pointing nowhere) is refused with EEXIST rather than opened or followed.
 */
export function createNew(path: string): number {
  return openSync(path, CREATE_NEW, 0o600);
}

/** Temporaries that a crash left beside `file`: never its content, only in the way. */
export function removeLeftoverTemporaries(file: string): void {
  const prefix = temporaryPrefix(file);
  try {
    for (const name of readdirSync(dirname(file))) {
      if (name.startsWith(prefix) && name.endsWith(TEMPORARY_SUFFIX)) rmSync(join(dirname(file), name), { force: true });
    }
  } catch {
    // A directory that cannot be listed fails the first write, which says so.
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
}
