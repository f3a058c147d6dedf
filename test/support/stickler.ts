// Runs the real Stickler CLI (src/cli.js under this Node) as a child process, the way users start it.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnManaged } from './process.ts';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export interface SticklerOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Extra CLI arguments after `--config FILE`. */
  args?: string[];
  /** Started under `ulimit -n` this low, soft and hard alike, so nothing can raise it again. */
  descriptors?: number;
}

export interface SticklerProcess {
  pid: number;
  /** Everything Stickler printed so far, stdout and stderr interleaved. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (a graceful drain), SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL now. */
  kill(): void;
  /** Settles with the exit status when the process ends on its own. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startStickler(configFile: string, opts: SticklerOptions = {}): Promise<SticklerProcess> {
  const command = [process.execPath, CLI, '--config', configFile, ...(opts.args ?? [])];
  // exec keeps the pid: stop() and kill() reach Stickler itself, not a shell.
  const limited = opts.descriptors === undefined ? command : ['bash', '-c', `ulimit -n ${opts.descriptors} && exec "$0" "$@"`, ...command];
  const proc = spawnManaged('stickler', limited[0]!, limited.slice(1), {
    env: { ...process.env, ...opts.env },
  });
  try {
    await proc.waitForStdout((out) => out.split('\n').some((line) => line.trimEnd() === 'ready'), READY_TIMEOUT_MS, 'printing `ready`');
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return {
    pid: proc.pid,
    output: () => proc.output(),
    stdout: () => proc.stdout(),
    stderr: () => proc.stderr(),
    stop: () => proc.stop(10_000),
    kill: () => proc.kill(),
    exited: proc.exited,
  };
}

/** Runs the CLI once to its end (`reload`, `stop`, `--check`...): its exit code and what it printed. */
export async function runCli(args: string[], timeoutMs = 30_000): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: timeoutMs });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}
