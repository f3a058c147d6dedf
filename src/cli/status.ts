// What `stickler status` is told: the running process's facts, its listeners as bound and its balancers' members as
// the shared state has them (the manager's overview), in one thread or across worker threads.
import type { ManagerOverview } from '../manager/model.ts';
import type { ListenerAddress } from '../server/workers.ts';
import type { StatusReport } from './control-protocol.ts';
import { VERSION } from './version.ts';

export interface Running {
  stickler: { readonly listeners: readonly ListenerAddress[]; overview(): ManagerOverview };
  configFile: string;
  startedAt: number;
  workers: number;
  lastReload: StatusReport['lastReload'];
}

export function statusReport(r: Running): StatusReport {
  return {
    version: VERSION,
    pid: process.pid,
    configFile: r.configFile,
    startedAt: r.startedAt,
    workers: r.workers,
    lastReload: r.lastReload,
    listeners: r.stickler.listeners.map((l) => ({ scheme: l.tls ? 'https' : 'http', address: l.address, port: l.port })),
    balancers: r.stickler.overview().balancers.map((b) => ({
      name: b.name,
      lbmethod: b.lbmethod,
      members: b.members.map((m) => ({ url: m.url, route: m.route, state: m.statusLabel.trim(), usable: m.usable, busy: m.busy, requests: m.requests })),
    })),
  };
}
