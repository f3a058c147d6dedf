// Starts a TLS server binary in the foreground and waits until its port completes a handshake.

import { acceptsTls } from '../test/support/probe.ts';
import { describeExit, spawnManaged, tail } from '../test/support/process.ts';
import { pollUntil } from '../test/support/wait.ts';

export interface RunningServer {
  name: string;
  port: number;
  stop(): Promise<void>;
}

export async function startForegroundTls(name: string, command: string, args: string[], port: number): Promise<RunningServer> {
  const proc = spawnManaged(name, command, args);
  try {
    await pollUntil(() => acceptsTls(port), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: `${name} accepting TLS on 127.0.0.1:${port}`,
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
  return { name, port, stop: () => proc.stop(5_000) };
}
