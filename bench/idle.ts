// (g) What an idle keep-alive connection costs a balancer: the resident memory (VmRSS) of its processes before
// and after a client process (tls-client.ts) opens 10 000 TLS connections, makes one GET on each and leaves
// them idle. Opening them takes longer than Stickler's and Apache's default KeepAliveTimeout (5 s), so their
// configuration gets 60 s; HAProxy keeps idle clients for its `timeout client` (60 s) and nginx for its
// default keepalive_timeout (75 s). The client counts the connections still open when it is stopped, after the
// second sample, so a server that closed some cannot pass for a cheap one.

import { setTimeout as sleep } from 'node:timers/promises';
import { groupStatusKiB } from './memory.ts';
import { fmt, renderTable } from './report.ts';
import { withTarget } from './target-run.ts';
import { HAPROXY, NGINX, sticklerName, targets, type TargetSetup } from './targets.ts';
import type { ClosedReport, HoldingReport } from './tls-client.ts';
import { holdIdleConnections } from './tls-load.ts';
import { TINY_PATH } from './static-backend.ts';

export const IDLE_CONNECTIONS = 10_000;
export const IDLE_KEEP_ALIVE_SEC = 60;
/** Stickler's goal for one idle connection, in KiB. */
export const IDLE_GOAL_KIB = 20;
export const IDLE_TARGETS = [sticklerName(1), HAPROXY, NGINX];
/** Connections being opened at once, so that the server's accept queue is not flooded. */
const OPEN_PARALLEL = 200;
// A few hundred handshakes a second at worst: a client that has not opened them all by then is stuck.
const OPEN_TIMEOUT_MS = 60_000;
// The client closes everything by itself after this long, should the bench die without stopping it.
const HOLD_LIMIT_SEC = 120;
// Lets the server finish with the last handshakes (buffers freed, timers run) before the second sample.
const SETTLE_MS = 2_000;
/** Time one target may take, start and stop included, for the bench's watchdog. */
export const IDLE_RUN_LIMIT_MS = OPEN_TIMEOUT_MS + SETTLE_MS + 15_000;

export interface IdleFigures {
  /** Connections open and idle after their one request. */
  held: number;
  /** Of those, still open when the client was stopped after the second sample; absent if it did not say. */
  heldAtStop?: number;
  failed: number;
  openingSec: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  kibPerConnection: number;
  firstError?: string;
}

export interface IdleRow {
  name: string;
  url?: string;
  figures?: IdleFigures;
  skipped?: string;
  detail?: string;
}

export interface IdleReport {
  key: string;
  name: string;
  connections: number;
  keepAliveTimeoutSec: number;
  targets: IdleRow[];
}

export function idleFigures(rssBeforeKiB: number, rssAfterKiB: number, holding: HoldingReport, closed: ClosedReport | undefined): IdleFigures | Error {
  if (holding.open === 0) return new Error(`no connection stayed open${holding.firstError ? ` (first error: ${holding.firstError})` : ''}`);
  return {
    held: holding.open,
    heldAtStop: closed?.openAtStop,
    failed: holding.failed,
    openingSec: holding.openingSec,
    rssBeforeKiB,
    rssAfterKiB,
    kibPerConnection: (rssAfterKiB - rssBeforeKiB) / holding.open,
    firstError: holding.firstError,
  };
}

async function measureIdle(pid: number | undefined, url: string): Promise<{ figures: IdleFigures }> {
  if (pid === undefined) throw new Error('no process to sample');
  const rss = async (): Promise<number> => {
    const kib = await groupStatusKiB(pid, 'VmRSS');
    if (kib === undefined) throw new Error(`cannot read VmRSS of process group ${pid}`);
    return kib;
  };
  const before = await rss();
  const hold = await holdIdleConnections({ url, count: IDLE_CONNECTIONS, parallel: OPEN_PARALLEL, holdLimitSec: HOLD_LIMIT_SEC }, OPEN_TIMEOUT_MS);
  let after: number;
  let closed: ClosedReport | undefined;
  try {
    await sleep(SETTLE_MS);
    after = await rss();
  } finally {
    closed = await hold.release();
  }
  const figures = idleFigures(before, after, hold.holding, closed);
  if (figures instanceof Error) throw figures;
  return { figures };
}

export async function runIdleConnections(key: string, setup: Omit<TargetSetup, 'h2' | 'sticklerWorkers' | 'idle'>): Promise<IdleReport> {
  const name = `(g) ${IDLE_CONNECTIONS} idle keep-alive TLS connections after one GET ${TINY_PATH} each: memory per connection`;
  console.log(`\n${name}`);
  const idle = { maxConnections: IDLE_CONNECTIONS + 100, keepAliveTimeoutSec: IDLE_KEEP_ALIVE_SEC };
  const chosen = targets({ ...setup, h2: false, sticklerWorkers: [1], idle }).filter((t) => IDLE_TARGETS.includes(t.name));
  const rows: IdleRow[] = [];
  for (const target of chosen) {
    const started = Date.now();
    const r: IdleRow = { name: target.name, ...(await withTarget(target, TINY_PATH, (server, url) => measureIdle(server.pid, url))) };
    rows.push(r);
    const figure = r.figures ? `${fmt(r.figures.kibPerConnection, 1)} KiB per connection` : `skipped: ${r.skipped}`;
    console.log(`  ${target.name}: ${figure} (${((Date.now() - started) / 1000).toFixed(1)} s with start and stop)`);
  }
  const report = { key, name, connections: IDLE_CONNECTIONS, keepAliveTimeoutSec: IDLE_KEEP_ALIVE_SEC, targets: rows };
  console.log(`\n== ${name} ==\n${formatIdleTable(report)}`);
  return report;
}

export function formatIdleTable(report: IdleReport): string {
  const lines = report.targets.map((r) => {
    const f = r.figures;
    if (!f) return [r.name, `skipped: ${r.skipped ?? 'no result'}`];
    return [
      r.name,
      String(f.held),
      String(f.failed),
      f.heldAtStop === undefined ? '-' : String(f.heldAtStop),
      fmt(f.openingSec, 1),
      fmt(f.rssBeforeKiB / 1024, 1),
      fmt(f.rssAfterKiB / 1024, 1),
      fmt(f.kibPerConnection, 1),
    ];
  });
  const table = renderTable(['target', 'held', 'failed', 'at stop', 'open s', 'RSS before MiB', 'RSS after MiB', 'KiB/conn'], lines);
  const stickler = report.targets.find((r) => r.name === sticklerName(1))?.figures;
  const goal = stickler
    ? `${sticklerName(1)}: ${fmt(stickler.kibPerConnection, 1)} KiB per idle connection, goal <= ${IDLE_GOAL_KIB}: ${stickler.kibPerConnection <= IDLE_GOAL_KIB ? 'met' : 'not met'}`
    : `${sticklerName(1)}: no figure, goal <= ${IDLE_GOAL_KIB} KiB per idle connection`;
  return `${table}\n${goal}`;
}
