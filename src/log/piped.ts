// Piped access logs (`CustomLog "|/usr/bin/rotatelogs ..."`): a child process whose standard input receives the
// lines. As httpd's reliable piped logs, a child that dies is started again; the lines written meanwhile wait in
// a bounded buffer. There is one child per command in the process, whatever the number of logs, worker threads
// and reloads naming it: worker threads send their batches to the main thread, which owns the child, and a reload
// that keeps the command keeps the child (httpd restarts it), so a rotating logger keeps its file.
import { spawn, type ChildProcess } from 'node:child_process';
import { isMainThread, BroadcastChannel } from 'node:worker_threads';
import type { Sink } from './sink.ts';

/** Lines kept while the child is being restarted; past this, batches are refused (and the log reports it). */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 5_000;
/** A child that ran this long was healthy: its next restart is quick again. */
const HEALTHY_MS = 10_000;
/** At shutdown the child gets this long to read what is left and exit after its input ends, then SIGTERM. */
const EXIT_GRACE_MS = 5_000;

/** How httpd 2.4 starts the command (server/log.c ap_open_piped_log): `|$` through the shell, else directly. */
export function pipedCommand(destination: string): { file: string; args: string[] } {
  let program = destination.slice(1);
  if (program.startsWith('|')) program = program.slice(1);
  if (program.startsWith('$')) return { file: '/bin/sh', args: ['-c', program.slice(1)] };
  const [file = '', ...args] = splitArguments(program);
  return { file, args };
}

/** APR's apr_tokenize_to_argv: words split on blanks, `"…"` and `'…'` group, a backslash takes the next character. */
export function splitArguments(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const channelName = (destination: string): string => `stickler piped log ${destination}`;

class PipedLogger {
  readonly #destination: string;
  #refs = 0;
  #child: ChildProcess | undefined;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #closing = false;
  #restartMs = RESTART_FIRST_MS;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #exited: Promise<void> = Promise.resolve();
  /** Batches from worker threads. */
  readonly #channel: BroadcastChannel;

  constructor(destination: string) {
    this.#destination = destination;
    this.#channel = new BroadcastChannel(channelName(destination));
    this.#channel.onmessage = (event) => this.write(Buffer.from((event as MessageEvent<Uint8Array>).data), () => {});
    this.#channel.unref();
    this.#start();
  }

  acquire(): void {
    this.#refs++;
  }

  /** True when it was the last user: the child is then stopped. */
  release(): boolean {
    return --this.#refs === 0;
  }

  write(data: Buffer, done: (err?: Error | null) => void): void {
    if (!this.#enqueue(data, false)) return done(new Error(`${this.#destination} is not keeping up and ${MAX_QUEUED_BYTES} bytes wait for it; lines dropped`));
    if (!this.#drain(done)) done();
  }

  /** Ends the child's input, waits for it to exit (bounded), then SIGTERM as httpd sends at shutdown. */
  async stop(): Promise<void> {
    this.#closing = true;
    this.#channel.close();
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), EXIT_GRACE_MS)));
    if ((await Promise.race([this.#exited, late])) === 'late') child.kill('SIGTERM');
    clearTimeout(timer);
  }

  #enqueue(data: Buffer, front: boolean): boolean {
    if (this.#queuedBytes + data.length > MAX_QUEUED_BYTES) return false;
    if (front) this.#queue.unshift(data);
    else this.#queue.push(data);
    this.#queuedBytes += data.length;
    return true;
  }

  #start(): void {
    const { file, args } = pipedCommand(this.#destination);
    this.#startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: ['pipe', 'inherit', 'inherit'] });
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

  /** Sends what waits, if a child runs; `done` when the child has taken it. A batch it could not take (it died meanwhile) waits for the next child. */
  #drain(done?: () => void): boolean {
    const stdin = this.#child?.stdin;
    if (!stdin || !stdin.writable || this.#queue.length === 0) return false;
    const batch = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    this.#queue = [];
    this.#queuedBytes = 0;
    stdin.write(batch, (err) => {
      if (err) this.#enqueue(batch, true);
      done?.();
    });
    return true;
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

function acquire(destination: string): PipedLogger {
  let logger = loggers.get(destination);
  if (!logger) loggers.set(destination, (logger = new PipedLogger(destination)));
  logger.acquire();
  return logger;
}

async function release(destination: string, logger: PipedLogger): Promise<void> {
  if (!logger.release()) return;
  loggers.delete(destination);
  await logger.stop();
}

/** A log's way to a piped logger: the child itself in the main thread, a message to it from a worker thread. */
export function pipedSink(destination: string): Sink {
  if (!isMainThread) {
    const channel = new BroadcastChannel(channelName(destination));
    channel.unref();
    return {
      write: (data, done) => {
        channel.postMessage(data);
        done();
      },
      close: async () => channel.close(),
    };
  }
  const logger = acquire(destination);
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
 * workers only send it lines; the returned function lets them go (a reload holds the new ones first).
 */
export function holdPipedLoggers(destinations: readonly string[]): () => Promise<void> {
  const held = [...new Set(destinations.filter((d) => d.startsWith('|')))].map((d) => [d, acquire(d)] as const);
  return async () => {
    // Batches the workers posted just before they stopped are delivered first.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(held.map(([d, logger]) => release(d, logger)));
  };
}
