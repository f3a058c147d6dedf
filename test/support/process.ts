// Child processes of the harness (Tomcat, httpd, Stickler, HAProxy, nginx, wrk). Each runs in its own
// process group so that stopping it also reaches what it forked (httpd children), and every live one is
// SIGKILLed when this Node process exits or is interrupted, so a failed test never leaves servers behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { TimeoutError, withTimeout } from './wait.ts';

const OUTPUT_CAP = 256 * 1024;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Settles once the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  exitStatus(): ExitStatus | undefined;
  stdout(): string;
  stderr(): string;
  /** Both streams, interleaved in arrival order. */
  output(): string;
  /** Resolves when the stdout text so far satisfies `test`; rejects on exit or timeout. */
  waitForStdout(test: (stdout: string) => boolean, timeoutMs: number, what: string): Promise<void>;
  /** SIGTERM, then SIGKILL to the whole group after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole group, without waiting. */
  kill(): void;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const live = new Set<ManagedProcess>();
let exitHooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.kill();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const p of live) p.kill();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function appendCapped(buffer: string, chunk: string): string {
  const joined = buffer + chunk;
  return joined.length > OUTPUT_CAP ? joined.slice(joined.length - OUTPUT_CAP) : joined;
}

export function spawnManaged(name: string, command: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
  installExitHooks();
  const child: ChildProcess = spawn(command, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let both = '';
  let status: ExitStatus | undefined;
  const stdoutWaiters = new Set<() => void>();

  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out = appendCapped(out, chunk);
    both = appendCapped(both, chunk);
    for (const wake of stdoutWaiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err = appendCapped(err, chunk);
    both = appendCapped(both, chunk);
  });

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (e) => {
      both = appendCapped(both, `\n[${name}] could not run ${command}: ${e.message}\n`);
      status ??= { code: null, signal: null };
      resolve(status);
    });
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
  });

  const pid = child.pid ?? -1;
  const managed: ManagedProcess = {
    name,
    pid,
    exited,
    exitStatus: () => status,
    stdout: () => out,
    stderr: () => err,
    output: () => both,
    waitForStdout(test, timeoutMs, what) {
      const satisfied = new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (test(out)) {
            stdoutWaiters.delete(check);
            resolve();
          }
        };
        stdoutWaiters.add(check);
        check();
        void exited.then((s) => {
          stdoutWaiters.delete(check);
          reject(new Error(`${name} exited (${describeExit(s)}) before ${what}\n${tail(both)}`));
        });
      });
      return withTimeout(satisfied, timeoutMs, `${name}: ${what}`).catch((e: unknown) => {
        throw e instanceof TimeoutError ? new Error(`${e.message}\n${tail(both)}`) : e;
      });
    },
    async stop(graceMs = 10_000) {
      if (status === undefined && pid > 0) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // Forked children (httpd workers) may outlive the leader for a moment.
      if (pid > 0) killGroup(pid, 'SIGKILL');
      live.delete(managed);
    },
    kill() {
      if (pid > 0) killGroup(pid, 'SIGKILL');
    },
  };
  if (pid > 0) live.add(managed);
  void exited.then(() => {
    if (pid > 0) killGroup(pid, 'SIGKILL');
    live.delete(managed);
  });
  return managed;
}

export function describeExit(s: ExitStatus): string {
  return s.signal ? `signal ${s.signal}` : `exit code ${s.code}`;
}

/** The last lines of a log, for error messages. */
export function tail(text: string, lines = 40): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}
