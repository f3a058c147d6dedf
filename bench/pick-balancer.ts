// The balancer `npm run bench:picks` contends on: two members with routes, byrequests, as the seed's; sticky
// on JSESSIONID for sticky picks. Shared by the main thread, which makes its state, and the picking threads.

import type { BalancerConfig } from '../src/config/model.ts';
import { balancerConfig, memberConfig } from '../test/support/fixtures.ts';
import type { PickMode } from './picks-report.ts';

export const PICK_ROUTES = ['node1', 'node2'];

export function pickBalancerConfig(mode: PickMode): BalancerConfig {
  const members = PICK_ROUTES.map((route) => memberConfig({ url: `https://${route}:8443`, route }));
  return balancerConfig(members, mode === 'sticky' ? { sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' } } : {});
}

export interface PickWorkerData {
  /** The balancer's state, every thread's (BalancerState.create with shared: true). */
  buffer: SharedArrayBuffer;
  /** This thread's busy ledger, as worker threads keep one. */
  ledger: SharedArrayBuffer;
  mode: PickMode;
  seconds: number;
  /** One Int32 that every thread waits on until the main thread sets it, so that all start together. */
  gate: SharedArrayBuffer;
}
