// Where batches of access-log lines go: a file opened for appending, or standard output.
import { close, closeSync, openSync, write } from 'node:fs';

/** `done` is called once per batch, with the error if it could not be written. */
export interface Sink {
  write(data: Buffer, done: (err?: Error | null) => void): void;
  close(): Promise<void>;
}

/** One descriptor of a log file and the batches being written to it, which it outlives when the file is reopened. */
interface OpenFile {
  fd: number;
  writing: number;
  replaced: boolean;
}

/** This thread's open log files, which reopenLogFiles reopens: each thread (worker threads too) has its own. */
const openFiles = new Set<{ reopen(): void }>();

function openFile(path: string): OpenFile {
  try {
    return { fd: openSync(path, 'a', 0o640), writing: 0, replaced: false };
  } catch (err) {
    throw new Error(`cannot open access log ${path}: ${(err as Error).message}`);
  }
}

/** A descriptor no longer current is closed once its last batch is written: a batch is never split across two files. */
function closeWhenIdle(file: OpenFile): void {
  if (file.replaced && file.writing === 0) close(file.fd, () => {});
}

export function fileSink(path: string): Sink {
  let current = openFile(path);
  const writeAll = (file: OpenFile, data: Buffer, done: (err?: Error | null) => void): void => {
    write(file.fd, data, 0, data.length, null, (err, written) => {
      if (!err && written < data.length) return writeAll(file, data.subarray(written), done);
      file.writing--;
      closeWhenIdle(file);
      done(err);
    });
  };
  const entry = {
    reopen: () => {
      const next = openFile(path);
      const old = current;
      current = next;
      old.replaced = true;
      closeWhenIdle(old);
    },
  };
  openFiles.add(entry);
  return {
    write: (data, done) => {
      current.writing++;
      writeAll(current, data, done);
    },
    close: async () => {
      openFiles.delete(entry);
      current.replaced = true;
      if (current.writing === 0) closeSync(current.fd);
    },
  };
}

/**
 * Opens every log file of this thread again by its name (SIGUSR1, after logrotate renamed it): new batches go to
 * the new file, those being written finish in the old one. A file that cannot be opened keeps its old descriptor;
 * the reasons are returned.
 */
export function reopenLogFiles(): string[] {
  const failures: string[] = [];
  for (const file of openFiles) {
    try {
      file.reopen();
    } catch (err) {
      failures.push(`${(err as Error).message}; its lines still go to the file it had open`);
    }
  }
  return failures;
}

export function stdoutSink(): Sink {
  // Without a listener an EPIPE on stdout would be an uncaught 'error' event and kill the proxy.
  const ignore = (): void => {};
  process.stdout.on('error', ignore);
  return {
    write: (data, done) => void process.stdout.write(data, (err) => done(err)),
    close: async () => void process.stdout.off('error', ignore),
  };
}
