// Piped access logs (`CustomLog "|/usr/bin/rotatelogs ..."`): a child process whose standard input receives the
// lines. As httpd's reliable piped logs, a child that dies is started again; the lines written meanwhile wait in
// a bounded buffer. There is one child per command in the process, whatever the number of logs, worker threads
// and reloads naming it: worker threads send their batches to the main thread, which owns the child, and a reload
// that keeps the command keeps the child (httpd restarts it), so a rotating logger keeps its file.
import { spawn, type ChildProcess } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { pipedCommand } from './piped-command.ts';
import type { Sink } from './sink.ts';

/**
 * What may wait for the child: batches not yet handed to it and those in its input's buffer, whether it reads
 * slowly, has stopped reading or is being restarted. Past this, batches are refused (and the log counts them).
 */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 5_000;
/** A child that ran this long was healthy: its next restart is quick again. */
const HEALTHY_MS = 10_000;
/** At shutdown the child gets this long to read what is left and exit after its input ends, then SIGTERM. */
export const EXIT_GRACE_MS = 5_000;

class PipedLogger {
  readonly #destination: string;
  readonly #env: NodeJS.ProcessEnv;
  #refs = 0;
  #child: ChildProcess | undefined;
  /** Batches not yet handed to the child, oldest first. */
  #queue: Buffer[] = [];
  /** Batches handed to the child's input and not yet written to the pipe, oldest first: the next child gets them if this one dies. */
  #sent: Buffer[] = [];
  /** The bytes of both, which MAX_QUEUED_BYTES bounds. */
  #bytes = 0;
  /** The child's input buffer is full: wait for its 'drain'. */
  #blocked = false;
  #closing = false;
  #restartMs = RESTART_FIRST_MS;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #exited: Promise<void> = Promise.resolve();

  constructor(destination: string, environment: Readonly<Record<string, string>>) {
    this.#destination = destination;
    // What apache2ctl exports from envvars reaches httpd's piped loggers too: rotatelogs scripts use APACHE_LOG_DIR.
    this.#env = { ...process.env, ...environment };
    this.#start();
  }

  acquire(): void {
    this.#refs++;
  }

  /** True when it was the last user: the child is then stopped. */
  release(): boolean {
    return --this.#refs === 0;
  }

  /** `done` once the batch is queued, which is all a log waits for; with an error when it is refused. */
  write(data: Buffer, done: (err?: Error | null) => void): void {
    if (this.#bytes + data.length > MAX_QUEUED_BYTES) {
      return done(new Error(`${this.#destination} is not keeping up and ${MAX_QUEUED_BYTES} bytes wait for it; lines dropped`));
    }
    this.#queue.push(data);
    this.#bytes += data.length;
    this.#drain();
    done();
  }

  /** Ends the child's input, waits for it to exit (bounded), then SIGTERM as httpd sends at shutdown. */
  async stop(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    // At the end the child's input takes what waits whatever it holds already: the cap bounds it all the same.
    for (const batch of this.#queue.splice(0)) child.stdin?.write(batch);
    child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), EXIT_GRACE_MS)));
    if ((await Promise.race([this.#exited, late])) === 'late') child.kill('SIGTERM');
    clearTimeout(timer);
  }

  #start(): void {
    const { file, args } = pipedCommand(this.#destination);
    this.#startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: ['pipe', 'inherit', 'inherit'], env: this.#env });
    } catch (err) {
      this.#report(`cannot start: ${(err as Error).message}`);
      this.#scheduleRestart();
      return;
    }
    this.#child = child;
    child.stdin!.on('error', () => {});
    let ended = false;
    this.#exited = new Promise((resolve) => {
      const onEnd = (why: string): void => {
        if (ended) return;
        ended = true;
        this.#child = undefined;
        this.#blocked = false;
        // What it had not taken goes first to the next child, in the order it was written.
        this.#queue = [...this.#sent, ...this.#queue];
        this.#sent = [];
        child.stdin?.destroy();
        resolve();
        if (this.#closing) return;
        this.#report(`${why}; starting it again`);
        this.#scheduleRestart();
      };
      child.on('error', (err) => onEnd(`cannot run: ${err.message}`));
      child.on('exit', (code, signal) => onEnd(`exited (${signal ?? `code ${code}`})`));
    });
    this.#drain();
  }

  /** Hands what waits to the child, as much as its input takes before it says to wait for 'drain'. */
  #drain(): void {
    const child = this.#child;
    const stdin = child?.stdin;
    if (!stdin || !stdin.writable || this.#blocked) return;
    while (this.#queue.length > 0) {
      const batch = this.#queue.shift()!;
      this.#sent.push(batch);
      // Writes complete in order; those of a child that died were moved back to the queue when it ended.
      const more = stdin.write(batch, (err) => {
        if (err || this.#child !== child) return;
        this.#bytes -= this.#sent.shift()!.length;
      });
      if (!more) {
        this.#blocked = true;
        stdin.once('drain', () => {
          if (this.#child !== child) return;
          this.#blocked = false;
          this.#drain();
        });
        return;
      }
    }
  }

  #scheduleRestart(): void {
    if (Date.now() - this.#startedAt > HEALTHY_MS) this.#restartMs = RESTART_FIRST_MS;
    const delay = this.#restartMs;
    this.#restartMs = Math.min(this.#restartMs * 2, RESTART_MAX_MS);
    this.#restartTimer = setTimeout(() => this.#start(), delay);
    this.#restartTimer.unref();
  }

  #report(message: string): void {
    process.stderr.write(`stickler: piped access log ${this.#destination}: ${message}\n`);
  }
}

/** The children of this process, by destination as written. */
const loggers = new Map<string, PipedLogger>();

/** A child kept across a reload keeps the environment it started with, as it keeps everything else. */
function acquire(destination: string, environment: Readonly<Record<string, string>>): PipedLogger {
  let logger = loggers.get(destination);
  if (!logger) loggers.set(destination, (logger = new PipedLogger(destination, environment)));
  logger.acquire();
  return logger;
}

async function release(destination: string, logger: PipedLogger): Promise<void> {
  if (!logger.release()) return;
  loggers.delete(destination);
  await logger.stop();
}

/** How a worker thread's batches reach the main thread's loggers, acknowledged one by one (see worker-thread.ts). */
export type PipedTransport = (destination: string, data: Buffer, done: (err?: Error | null) => void) => void;

let transport: PipedTransport | undefined;

/** In a worker thread, before any log opens: where its piped logs send their batches. */
export function sendPipedLogsThrough(send: PipedTransport): void {
  transport = send;
}

/** In the main thread, a worker's batch for `destination`: `done` once queued, as for a log of this thread. */
export function writeFromWorker(destination: string, data: Buffer, done: (err?: Error | null) => void): void {
  const logger = loggers.get(destination);
  if (!logger) return done(new Error(`no piped logger runs for ${destination}; lines dropped`));
  logger.write(data, done);
}

/** A log's way to a piped logger: the child itself in the main thread, a message to it from a worker thread. */
export function pipedSink(destination: string, environment: Readonly<Record<string, string>> = {}): Sink {
  if (!isMainThread) {
    const send = transport;
    if (!send) throw new Error(`piped access log ${destination}: a worker thread has no way to the main thread's loggers`);
    return { write: (data, done) => send(destination, data, done), close: async () => {} };
  }
  const logger = acquire(destination, environment);
  let released = false;
  return {
    write: (data, done) => logger.write(data, done),
    close: async () => {
      if (released) return;
      released = true;
      await release(destination, logger);
    },
  };
}

/**
 * With worker threads, the main thread keeps the children of a configuration's piped logs running, since the
 * workers only send it lines; the returned function lets them go, once no runtime of the configuration writes.
 */
export function holdPipedLoggers(destinations: readonly string[], environment: Readonly<Record<string, string>> = {}): () => Promise<void> {
  const held = [...new Set(destinations.filter((d) => d.startsWith('|')))].map((d) => [d, acquire(d, environment)] as const);
  return async () => void (await Promise.all(held.map(([d, logger]) => release(d, logger))));
}
