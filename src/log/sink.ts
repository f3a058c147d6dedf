// Where batches of access-log lines go: a file opened for appending, or standard output.
import { closeSync, openSync, write } from 'node:fs';

/** `done` is called once per batch, with the error if it could not be written. */
export interface Sink {
  write(data: Buffer, done: (err?: Error | null) => void): void;
  close(): Promise<void>;
}

export function fileSink(path: string): Sink {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o640);
  } catch (err) {
    throw new Error(`cannot open access log ${path}: ${(err as Error).message}`);
  }
  const writeAll = (data: Buffer, done: (err?: Error | null) => void): void => {
    write(fd, data, 0, data.length, null, (err, written) => {
      if (err) done(err);
      else if (written < data.length) writeAll(data.subarray(written), done);
      else done();
    });
  };
  return { write: writeAll, close: async () => closeSync(fd) };
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
