// /metrics: the manager's overview in Prometheus' text exposition format 0.0.4, written by hand. The counters
// already live in shared memory, summed over the worker threads, so prom-client's per-worker registries and
// cluster aggregation (ecosystem.md, Prometheus row) would only add ways to lose or double-count samples.
import { OTHER_ROUTES } from '../sticky/route-mismatch.ts';
import { STATUS_SWITCHES } from './model.ts';
import type { ManagerOverview, MemberOverview } from './model.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Figures of the serving process, under the names every Prometheus client library uses for them. */
export interface ProcessFigures {
  /** Seconds since the epoch. */
  startTimeSeconds: number;
  residentBytes: number;
  /** User plus system CPU time. */
  cpuSeconds: number;
  /** Client connections open now, all workers together. */
  openConnections?: number;
}

interface MemberFamily {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  /** null leaves the member's sample out. */
  value(member: MemberOverview): number | null;
}

const MEMBER_FAMILIES: readonly MemberFamily[] = [
  { name: 'stickler_member_requests_total', type: 'counter',
    help: 'Exchanges finished with the member (answered, failed or cut off).', value: (m) => m.requests },
  { name: 'stickler_member_failures_total', type: 'counter',
    help: 'Failures charged to the member: connect errors, timeouts, failonstatus, responses cut off.',
    value: (m) => m.failures },
  { name: 'stickler_member_sent_bytes_total', type: 'counter',
    help: "Bytes sent to the member (Apache's To).", value: (m) => m.bytesToMember },
  { name: 'stickler_member_received_bytes_total', type: 'counter',
    help: "Bytes received from the member (Apache's From).", value: (m) => m.bytesFromMember },
  { name: 'stickler_member_elected_total', type: 'counter',
    help: "Times the member was chosen for a request (Apache's Elected).", value: (m) => m.elected },
  { name: 'stickler_member_busy', type: 'gauge',
    help: 'Requests in flight to the member.', value: (m) => m.busy },
  { name: 'stickler_member_lbstatus', type: 'gauge',
    help: "Weighted round-robin credit of the member (Apache's Load); may be negative.", value: (m) => m.lbstatus },
  { name: 'stickler_member_loadfactor', type: 'gauge',
    help: 'Weight of the member among its balancer.', value: (m) => m.loadfactor },
  { name: 'stickler_member_up', type: 'gauge',
    help: '1 when a new request could be sent to the member now, 0 when not.', value: (m) => (m.usable ? 1 : 0) },
  { name: 'stickler_member_sticky_sessions', type: 'gauge',
    help: 'Sessions that sent a request routed to the member within the session window (approximate).',
    value: (m) => m.stickySessions },
  { name: 'stickler_member_last_failure_timestamp_seconds', type: 'gauge',
    help: 'When the member last failed, in seconds since the epoch; absent when it never failed.',
    value: (m) => (m.lastFailure === null ? null : m.lastFailure / 1000) },
];

/** Every switch and state of a member, in the order of the manager's table. */
const STATUS_FLAGS = [...STATUS_SWITCHES, 'error', 'healthCheckFailed'] as const;

const LATENCY = 'stickler_member_response_latency_seconds';

/** `hotStandby` → `hot_standby`: label values follow the metric names' snake case. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (upper) => `_${upper.toLowerCase()}`);
}

function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : `\\${ch}`));
}

/**
 * Integers in full, so large counters keep every digit; anything else rounded to 15 significant digits, which
 * drops the binary noise of the ms → s divisions (0.005, not 0.005000000000000001).
 */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(15)));
}

/**
 * The cumulative count at each finite bound, then the total (the +Inf bucket). Counts beyond the bounds are
 * slower than all of them, so they only add to the total; missing counts are zero.
 */
function cumulativeCounts(boundCount: number, counts: readonly number[]): number[] {
  const cumulative: number[] = [];
  let sum = 0;
  for (let i = 0; i < boundCount; i++) {
    sum += counts[i] ?? 0;
    cumulative.push(sum);
  }
  for (let i = boundCount; i < counts.length; i++) sum += counts[i] as number;
  cumulative.push(sum);
  return cumulative;
}

/**
 * The exposition of every member of every balancer, then of the process when `figures` is given. Each family
 * has its HELP and TYPE once, followed by all its samples. Families without samples keep their HELP and TYPE,
 * so a scrape of an empty manager still documents what it would hold.
 */
export function prometheusText(overview: ManagerOverview, figures?: ProcessFigures): string {
  const series = overview.balancers.flatMap((balancer) => balancer.members.map((member) => ({
    member,
    labels: `balancer="${escapeLabelValue(balancer.name)}",member="${escapeLabelValue(member.url)}",` +
      `route="${escapeLabelValue(member.route)}"`,
  })));
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const sample = (name: string, labels: string, value: number) => {
    lines.push(`${name}${labels === '' ? '' : `{${labels}}`} ${formatValue(value)}`);
  };

  for (const { name, type, help, value } of MEMBER_FAMILIES) {
    family(name, type, help);
    for (const { member, labels } of series) {
      const v = value(member);
      if (v !== null) sample(name, labels, v);
    }
  }

  family('stickler_member_status', 'gauge', '1 when the switch or state named by the status label is set, 0 when not.');
  for (const { member, labels } of series) {
    for (const flag of STATUS_FLAGS) {
      sample('stickler_member_status', `${labels},status="${snakeCase(flag)}"`, member.status[flag] ? 1 : 0);
    }
  }

  family('stickler_member_state_changes_total', 'counter',
    'State changes of the member: into error, back from it, taken out and brought back by its health check.');
  for (const { member, labels } of series) {
    for (const [change, count] of Object.entries(member.changes)) {
      sample('stickler_member_state_changes_total', `${labels},change="${snakeCase(change)}"`, count);
    }
  }

  family('stickler_member_route_mismatch_total', 'counter',
    `Sessions the member issued with a route not its own (seen: the route, "" for none, ${OTHER_ROUTES} past the first few).`);
  for (const { member, labels } of series) {
    const mismatch = member.routeMismatch;
    if (mismatch === null) continue;
    for (const { seen, count } of mismatch.counts) {
      sample('stickler_member_route_mismatch_total', `${labels},seen="${escapeLabelValue(seen)}"`, count);
    }
    if (mismatch.other > 0) sample('stickler_member_route_mismatch_total', `${labels},seen="${OTHER_ROUTES}"`, mismatch.other);
  }
  family('stickler_balancer_cookie_rejected_total', 'counter',
    "Balancer cookies not obeyed because their signature did not hold (forged, altered or unsigned); only balancers with a cookie.");
  for (const balancer of overview.balancers) {
    if (balancer.cookiesRejected !== null) {
      sample('stickler_balancer_cookie_rejected_total', `balancer="${escapeLabelValue(balancer.name)}"`, balancer.cookiesRejected);
    }
  }

  const bounds = overview.latencyBucketsMs;
  family(LATENCY, 'histogram', 'Time from sending the request to the member to its response head.');
  for (const { member, labels } of series) {
    const cumulative = cumulativeCounts(bounds.length, member.latency.buckets);
    const total = cumulative[bounds.length] as number;
    for (let i = 0; i < bounds.length; i++) {
      sample(`${LATENCY}_bucket`, `${labels},le="${formatValue((bounds[i] as number) / 1000)}"`, cumulative[i] as number);
    }
    sample(`${LATENCY}_bucket`, `${labels},le="+Inf"`, total);
    sample(`${LATENCY}_sum`, labels, member.latency.sumMs / 1000);
    sample(`${LATENCY}_count`, labels, total);
  }

  if (overview.sharedState !== undefined) {
    family('stickler_shared_state_connected', 'gauge', '1 when this instance reaches the shared state (Redis) and takes edits, 0 when it serves on its last state.');
    sample('stickler_shared_state_connected', '', overview.sharedState.connected ? 1 : 0);
  }
  if (overview.certificates !== undefined) {
    family('stickler_certificate_expiry_timestamp_seconds', 'gauge', 'When the certificate a TLS virtual host serves ends, in seconds since the epoch.');
    for (const c of overview.certificates) {
      sample('stickler_certificate_expiry_timestamp_seconds', `vhost="${escapeLabelValue(c.vhost)}",port="${c.port}"`, Math.floor(c.notAfter / 1000));
    }
    const managed = overview.certificates.filter((c) => c.acme !== undefined);
    if (managed.length > 0) {
      family('stickler_certificate_renewal_failures', 'gauge', 'Orders of an ACME certificate that failed in a row; 0 once one succeeds.');
      for (const name of new Set(managed.map((c) => c.acme!.name))) {
        sample('stickler_certificate_renewal_failures', `name="${escapeLabelValue(name)}"`, managed.find((c) => c.acme!.name === name)!.acme!.failures);
      }
    }
  }
  if (figures !== undefined) {
    const single = (name: string, type: string, help: string, value: number) => {
      family(name, type, help);
      sample(name, '', value);
    };
    single('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.',
      figures.startTimeSeconds);
    single('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', figures.residentBytes);
    single('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.',
      figures.cpuSeconds);
    if (figures.openConnections !== undefined) {
      single('stickler_open_connections', 'gauge', 'Client connections open now, all workers together.',
        figures.openConnections);
    }
  }
  return `${lines.join('\n')}\n`;
}
