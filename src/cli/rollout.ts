// `stickler rollout`: restarts a balancer's members one at a time through the manager JSON API of a running
// Stickler (bearer token): drain, wait until the member's sessions are idle, disable, run the command, wait until
// the member answers and is not in error, enable (slow start ramps it), next. The decisions are rollout-plan.ts's.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { secretFileExposure } from '../config/key-file.ts';
import { parseDuration } from '../config/native/values.ts';
import type { BalancerOverview, ManagerOverview, MemberChange, MemberOverview } from '../manager/model.ts';
import {
  drainProblem, execEnv, execScript, formatSpan, isIdle, planProblem, planRollout, planText, progressLine, type PlannedMember, type RolloutPlan,
} from './rollout-plan.ts';
import { usage } from './usage.ts';

const DEFAULT_MAX_WAIT_MS = 30 * 60_000;
const DEFAULT_HEALTH_TIMEOUT_MS = 5 * 60_000;
/** Far beyond a Tomcat restart; a command still running then is hung, and its member stays disabled meanwhile. */
const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60_000;
/** After --command-timeout, how long its processes have between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 10_000;
/** Every call to the manager or probe of a member gives up after this. */
const REQUEST_TIMEOUT_MS = 10_000;
const HEALTH_POLL_MS = 500;

interface Answer {
  status: number;
  body: string;
}

type Fetch = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Answer>;

/** One HTTP(S) exchange; `ca` and `insecure` apply to https. */
function fetcher(tls: { ca?: Buffer; insecure: boolean }): Fetch {
  return (url, init) => new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, {
      method: init.method ?? 'GET',
      headers: init.headers,
      timeout: REQUEST_TIMEOUT_MS,
      ...(target.protocol === 'https:' && { rejectUnauthorized: !tls.insecure, ...(tls.ca && { ca: tls.ca }) }),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.origin} within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

class RolloutError extends Error {}

/** The manager's JSON API, with the bearer token. */
class ManagerApi {
  private readonly base: string;
  private readonly token: string;
  private readonly fetch: Fetch;

  constructor(base: string, token: string, fetch: Fetch) {
    this.base = base;
    this.token = token;
    this.fetch = fetch;
  }

  async overview(): Promise<ManagerOverview> {
    const answer = await this.fetch(`${this.base}/api/v1/balancers`, { headers: { authorization: `Bearer ${this.token}` } });
    if (answer.status !== 200) throw new RolloutError(`GET ${this.base}/api/v1/balancers answered ${answer.status}: ${answer.body.trim()}`);
    return JSON.parse(answer.body) as ManagerOverview;
  }

  async balancer(name: string): Promise<BalancerOverview> {
    const overview = await this.overview();
    const found = overview.balancers.find((b) => b.name === name);
    if (!found) throw new RolloutError(`no balancer "${name}"; expected one of ${overview.balancers.map((b) => b.name).join(', ') || '(none)'}`);
    return found;
  }

  async member(balancer: string, url: string): Promise<MemberOverview> {
    const found = (await this.balancer(balancer)).members.find((m) => m.url === url);
    if (!found) throw new RolloutError(`balancer://${balancer} no longer has member ${url}`);
    return found;
  }

  async change(balancer: string, member: string, status: MemberChange['status']): Promise<void> {
    const answer = await this.fetch(`${this.base}/api/v1/edits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'member', balancer, member, change: { status } }),
    });
    if (answer.status !== 200) throw new RolloutError(`the manager refused to change ${member} (${answer.status}): ${answer.body.trim()}`);
  }
}

/** The first token of a token file (the manager's format: one a line, # comments), refused if others may read it. */
export function readToken(file: string): string {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const exposure = secretFileExposure(fstatSync(fd).mode);
    if (exposure !== undefined) throw new RolloutError(`--token-file: ${file} is ${exposure}; the token changes balancers: chmod 600 ${file}`);
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof RolloutError) throw err;
    throw new RolloutError(`--token-file: cannot read ${file} (${(err as Error).message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const token = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (token === undefined) throw new RolloutError(`${file} holds no token; expected one line with the manager's bearer token`);
  return token;
}

/** The command running now, which a signal to rollout is passed on to. */
let running: ChildProcess | undefined;

/** Sends `signal` to every process of the command's group; they may be gone already. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Gone already.
  }
}

/**
 * Runs `script` with sh and `env` beside ours; resolves with its exit status (its output goes to ours), or
 * 'timeout' when it ran `timeoutMs`: then its processes get SIGTERM, and SIGKILL KILL_GRACE_MS later.
 */
export function run(script: string, env: Record<string, string>, timeoutMs: number): Promise<number | 'timeout'> {
  return new Promise<number | 'timeout'>((resolve) => {
    // Its own process group, so a signal reaches every process the command started, not only sh.
    const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'inherit', 'inherit'], detached: true, env: { ...process.env, ...env } });
    running = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, 'SIGTERM');
      setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
    }, timeoutMs);
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(timedOut ? 'timeout' : code ?? (signal ? 128 : 1));
    });
  }).finally(() => (running = undefined));
}

interface Options {
  balancer: string;
  exec: string;
  idleMs: number | undefined;
  maxWaitMs: number;
  healthTimeoutMs: number;
  commandTimeoutMs: number;
  dryRun: boolean;
}

function durationOption(value: string | undefined, name: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const parsed = parseDuration(value, 0);
  if (!parsed.ok) throw new UsageError(`--${name}: ${parsed.message}`);
  return parsed.value;
}

class UsageError extends Error {}

const say = (line: string) => void process.stdout.write(`${line}\n`);

/** Member `m` is back: it answers HTTP directly (its certificate is not checked: nothing is sent but a GET) and the manager shows it neither in error nor failing its health check. */
async function isBack(api: ManagerApi, balancer: string, m: PlannedMember, probe: Fetch): Promise<boolean> {
  try {
    if ((await probe(m.url, {})).status >= 500) return false;
  } catch {
    return false;
  }
  const now = await api.member(balancer, m.url);
  return !now.status.error && !now.status.healthCheckFailed;
}

/** Restarts one member; returns its times, or throws (the caller re-enables it). `left` follows what it is left as. */
async function restart(api: ManagerApi, b: BalancerOverview, windowMs: number, m: PlannedMember, opts: Options & { idleMs: number }, probe: Fetch, left: { as: string }) {
  const drainedAt = Date.now();
  left.as = 'draining, perhaps';
  await api.change(b.name, m.url, { drain: true });
  left.as = 'draining';
  for (;;) {
    const now = Date.now();
    const drain = (await api.member(b.name, m.url)).drainSessions;
    if (isIdle(drain?.lastRequestAt ?? null, drainedAt, opts.idleMs, windowMs, now)) break;
    if (now - drainedAt >= opts.maxWaitMs) {
      say(`  ${m.url}: ${drain?.active ?? 0} session(s) still active after ${formatSpan(opts.maxWaitMs)} (--max-wait); restarting it anyway`);
      break;
    }
    await sleep(Math.min(1_000, Math.max(100, opts.idleMs / 10)));
  }
  left.as = 'draining, perhaps disabled';
  await api.change(b.name, m.url, { drain: true, disabled: true });
  left.as = 'draining and disabled';
  const commandAt = Date.now();
  const status = await run(execScript(opts.exec), execEnv(m), opts.commandTimeoutMs);
  if (status === 'timeout') throw new RolloutError(`the command for ${m.url} did not finish within ${formatSpan(opts.commandTimeoutMs)} (--command-timeout) and was killed: ${m.command}`);
  if (status !== 0) throw new RolloutError(`the command for ${m.url} exited with status ${status}: ${m.command}`);
  const backFrom = Date.now();
  while (!(await isBack(api, b.name, m, probe))) {
    if (Date.now() - backFrom >= opts.healthTimeoutMs) {
      throw new RolloutError(`${m.url} did not come back within ${formatSpan(opts.healthTimeoutMs)} (--health-timeout): it does not answer, or the manager shows it in error or failing its health check`);
    }
    await sleep(HEALTH_POLL_MS);
  }
  await api.change(b.name, m.url, { drain: false, disabled: false, stopped: false });
  return { drainMs: commandAt - drainedAt, commandMs: backFrom - commandAt, backMs: Date.now() - backFrom };
}

async function rolloutWith(api: ManagerApi, opts: Options, probe: Fetch): Promise<number> {
  const overview = await api.overview();
  const b = overview.balancers.find((x) => x.name === opts.balancer);
  if (!b) throw new RolloutError(`no balancer "${opts.balancer}"; expected one of ${overview.balancers.map((x) => x.name).join(', ') || '(none)'}`);
  const windowMs = b.stopWhenIdleMs > 0 ? b.stopWhenIdleMs : overview.sessionWindowMs;
  const idleMs = opts.idleMs ?? windowMs;
  const plan = planRollout(b, opts.exec);
  const problem = planProblem(b, plan);
  if (problem) throw new RolloutError(problem);
  if (opts.dryRun) {
    say(planText(b, plan, { idleMs, maxWaitMs: opts.maxWaitMs, healthTimeoutMs: opts.healthTimeoutMs }));
    return 0;
  }
  return restartAll(api, b, plan, windowMs, { ...opts, idleMs }, probe);
}

async function restartAll(api: ManagerApi, b: BalancerOverview, plan: RolloutPlan, windowMs: number, opts: Options & { idleMs: number }, probe: Fetch): Promise<number> {
  const doneMs: number[] = [];
  let current: PlannedMember | undefined;
  // Interrupted (Ctrl-C, a stop): the command gets the signal too, and the member being restarted is let back in
  // before exiting, as on a failure.
  const interrupted = (signal: NodeJS.Signals): void => {
    if (running !== undefined) signalGroup(running, signal);
    const member = current;
    const leave = () => process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    if (member === undefined) return leave();
    process.stderr.write(`stickler rollout: ${signal}: letting ${member.url} back in and stopping\n`);
    api.change(b.name, member.url, { drain: false, disabled: false, stopped: false }).then(leave, (err: Error) => {
      process.stderr.write(`stickler rollout: ${member.url} could NOT be enabled again (${err.message}); enable it in the manager\n`);
      leave();
    });
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  for (const [i, m] of plan.members.entries()) {
    // Read again before each drain: nothing of ours is out now, so a refusal leaves nothing to undo.
    const problem = drainProblem(await api.balancer(b.name), plan, m);
    if (problem !== undefined) {
      process.stderr.write(`stickler rollout: ${problem}\nstickler rollout: stopped; ${plan.members.length - i} member(s) not restarted\n`);
      return 1;
    }
    say(`[${i + 1}/${plan.members.length}] ${m.route || '(no route)'} ${m.url}: draining`);
    current = m;
    const left = { as: 'as it was' };
    try {
      const times = await restart(api, b, windowMs, m, opts, probe, left);
      current = undefined;
      doneMs.push(times.drainMs + times.commandMs + times.backMs);
      say(progressLine(i, plan.members.length, m, times, doneMs));
    } catch (err) {
      let undone = `${m.url} is enabled again`;
      try {
        await api.change(b.name, m.url, { drain: false, disabled: false, stopped: false });
      } catch (again) {
        undone = `${m.url} could NOT be enabled again (${(again as Error).message}) and is left ${left.as}: enable it in the manager`;
      }
      process.stderr.write(`stickler rollout: ${(err as Error).message}\nstickler rollout: stopped; ${undone}; ${plan.members.length - i - 1} member(s) not restarted\n`);
      return 1;
    }
  }
  return 0;
}

/** `stickler rollout ...`: the exit status. */
export async function rollout(argv: string[]): Promise<number> {
  let opts: Options;
  let api: ManagerApi;
  let probe: Fetch;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        manager: { type: 'string' },
        'token-file': { type: 'string' },
        balancer: { type: 'string' },
        exec: { type: 'string' },
        idle: { type: 'string' },
        'max-wait': { type: 'string' },
        'health-timeout': { type: 'string' },
        'command-timeout': { type: 'string' },
        'dry-run': { type: 'boolean' },
        insecure: { type: 'boolean' },
        ca: { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`rollout takes no argument besides its options, got ${positionals.join(' ')}`);
    for (const name of ['manager', 'token-file', 'balancer', 'exec'] as const) if (!values[name]) throw new UsageError(`rollout needs --${name}`);
    const base = values.manager!.replace(/\/+$/, '');
    if (!/^https?:\/\//.test(base)) throw new UsageError(`--manager: expected the manager's URL, such as http://127.0.0.1:9090/balancer-manager, got ${base}`);
    opts = {
      balancer: values.balancer!,
      exec: values.exec!,
      idleMs: durationOption(values.idle, 'idle', undefined),
      maxWaitMs: durationOption(values['max-wait'], 'max-wait', DEFAULT_MAX_WAIT_MS)!,
      healthTimeoutMs: durationOption(values['health-timeout'], 'health-timeout', DEFAULT_HEALTH_TIMEOUT_MS)!,
      commandTimeoutMs: durationOption(values['command-timeout'], 'command-timeout', DEFAULT_COMMAND_TIMEOUT_MS)!,
      dryRun: values['dry-run'] ?? false,
    };
    const fetch = fetcher({ insecure: values.insecure ?? false, ...(values.ca !== undefined && { ca: readFileSync(values.ca) }) });
    api = new ManagerApi(base, readToken(values['token-file']!), fetch);
    probe = fetcher({ insecure: true });
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`stickler rollout: ${(err as Error).message}\n\n${usage}\n`);
      return 2;
    }
    process.stderr.write(`stickler rollout: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    return await rolloutWith(api, opts, probe);
  } catch (err) {
    process.stderr.write(`stickler rollout: ${(err as Error).message}\n`);
    return 1;
  }
}
