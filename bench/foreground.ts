// Starts a TLS server binary in the foreground and waits until each of its ports completes a handshake.

import { acceptsTls } from '../test/support/probe.ts';
import { describeExit, spawnManaged, tail } from '../test/support/process.ts';
import { pollUntil } from '../test/support/wait.ts';

export interface RunningServer {
  name: string;
  /** Leader of the server's process group (see memory.ts). */
  pid: number;
  stop(): Promise<void>;
}

export async function startForegroundTls(name: string, command: string, args: string[], ports: number[]): Promise<RunningServer> {
  const proc = spawnManaged(name, command, args);
  try {
    await pollUntil(async () => (await Promise.all(ports.map((p) => acceptsTls(p)))).every(Boolean), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: `${name} accepting TLS on 127.0.0.1:${ports.join(', ')}`,
      abort: () => {
        const s = proc.exitStatus();
        return s && new Error(`${name} (${command} ${args.join(' ')}) exited (${describeExit(s)}):\n${tail(proc.output())}`);
      },
      diagnostics: () => tail(proc.output()),
    });
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return { name, pid: proc.pid, stop: () => proc.stop(5_000) };
}
