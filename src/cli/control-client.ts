// `stickler reload`, `stop` and `status`: find the running process through its pid file, ask over its control
// socket (control-server.ts), and wait for the answer, every wait bounded.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { encode, formatStatus, type ControlAnswer, type ControlCommand } from './control-protocol.ts';
import { controlSocketFor } from './control-server.ts';

/** Exit statuses of the control commands (documented in the usage text). */
export const EXIT = { ok: 0, refused: 1, usage: 2, notRunning: 3, timeout: 4 } as const;

/** A reload reads certificates, binds ports and asks every worker thread: generous, but not forever. */
const RELOAD_WAIT_MS = 60_000;
const STATUS_WAIT_MS = 10_000;
/** Past the shutdown bound the process gives itself, for its own exit and a loaded machine. */
const EXIT_MARGIN_MS = 5_000;

const say = (text: string) => void process.stdout.write(`${text}\n`);
const complain = (text: string) => void process.stderr.write(`stickler: ${text}\n`);

export async function askRunning(command: ControlCommand, pidFile: string): Promise<number> {
  const pid = readPid(pidFile);
  if (typeof pid === 'string') return complain(pid), EXIT.notRunning;
  let answer: ControlAnswer;
  try {
    answer = await ask(controlSocketFor(pidFile), command, command === 'reload' ? RELOAD_WAIT_MS : STATUS_WAIT_MS);
  } catch (err) {
    const timedOut = err instanceof ControlTimeout;
    if (timedOut) return complain(err.message), EXIT.timeout;
    if (!alive(pid)) return complain(`process ${pid} from ${pidFile} is not running (a stale pid file)`), EXIT.notRunning;
    complain(`process ${pid} is running but does not answer on ${controlSocketFor(pidFile)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return EXIT.refused;
  }
  switch (answer.command) {
    case 'error':
      for (const r of answer.reasons) complain(r);
      return EXIT.refused;
    case 'status':
      process.stdout.write(formatStatus(answer.status, Date.now()));
      return EXIT.ok;
    case 'reload':
      if (!answer.ok) {
        for (const r of answer.reasons) process.stderr.write(`${r}\n`);
        complain(`reload refused; the running configuration keeps serving`);
        return EXIT.refused;
      }
      for (const w of answer.warnings) process.stderr.write(`${w}\n`);
      say(`reloaded: process ${pid} serves the new configuration`);
      return EXIT.ok;
    case 'stop':
      say(`stopping process ${pid}${answer.boundMs === null ? '; graceful-shutdown-timeout is 0, so as long as its connections take' : ''}`);
      if (!(await exited(pid, answer.boundMs === null ? Infinity : answer.boundMs + EXIT_MARGIN_MS))) {
        complain(`process ${pid} has not exited within ${Math.round((answer.boundMs! + EXIT_MARGIN_MS) / 1000)} s`);
        return EXIT.timeout;
      }
      say(`stopped`);
      return EXIT.ok;
  }
}

function readPid(pidFile: string): number | string {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (err) {
    return `cannot read ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? err}; is the balancer running with --pid-file ${pidFile}?`;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : `${pidFile} does not hold a process id`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export class ControlTimeout extends Error {}

/** Sends `command` and resolves with the one answer line. */
export function ask(path: string, command: ControlCommand, timeoutMs: number): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ControlTimeout(`no answer to ${command} within ${timeoutMs / 1000} s; see the balancer's log`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(encode({ command })));
    socket.on('data', (chunk: string) => (received += chunk));
    socket.once('error', (err) => (clearTimeout(timer), reject(err)));
    socket.once('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(received) as ControlAnswer);
      } catch {
        reject(new Error(`an answer that is not JSON: ${received.slice(0, 200)}`));
      }
    });
  });
}
