// The server's limits and timeouts: core's Timeout, KeepAliveTimeout and GracefulShutdownTimeout, ProxyTimeout,
// the LimitRequest* directives, H2MaxSessionStreams and mod_reqtimeout's RequestReadTimeout. Stickler keeps one
// value of each for the whole configuration, so each is read in the main server only.
import type { ClientPolicy, Millis, ReadTimeout } from '../model.ts';
import { arity } from './arguments.ts';
import type { DirectiveNode } from './parse.ts';
import { parseRequestReadTimeout, type ReadStage } from './read-timeout.ts';
import type { Report } from './report.ts';
import type { Scope } from './scope.ts';
import { parseDuration } from './values.ts';

export interface ServerTimeouts {
  timeout?: Millis;
  proxyTimeout?: Millis;
  keepAliveTimeout?: Millis;
  gracefulShutdownTimeout?: Millis;
}

const TIMEOUT_FIELDS = { Timeout: 'timeout', ProxyTimeout: 'proxyTimeout', KeepAliveTimeout: 'keepAliveTimeout', GracefulShutdownTimeout: 'gracefulShutdownTimeout' } as const;

/** The LimitRequest* directives and H2MaxSessionStreams: the model field each sets, its smallest value, and what the message asks for. */
const REQUEST_LIMITS = {
  LimitRequestLine: { field: 'requestLine', min: 1, expected: 'the longest request line in bytes, such as 8190' },
  LimitRequestFieldSize: { field: 'fieldSize', min: 1, expected: 'the longest header line in bytes, such as 8190' },
  LimitRequestFields: { field: 'fields', min: 0, expected: 'the most header fields a request may have, such as 100 (0: no limit)' },
  LimitRequestBody: { field: 'bodySize', min: 0, expected: 'the largest request body in bytes, such as 1073741824 (0: no limit)' },
  H2MaxSessionStreams: { field: 'maxStreams', min: 1, expected: 'the most concurrent streams of one HTTP/2 connection, such as 100' },
} as const satisfies Record<string, { field: keyof ClientPolicy; min: number; expected: string }>;

/** Timeout, ProxyTimeout, KeepAliveTimeout, GracefulShutdownTimeout. */
export function readTimeout(node: DirectiveNode, scope: Scope, timeouts: ServerTimeouts, report: Report): void {
  if (!arity(node, 1, 1, 'a time in seconds', report)) return;
  const ms = parseDuration(node.args[0] ?? '', 's');
  if (ms === undefined) {
    report.error(node.source, node.name, `"${node.args[0]}" is not a time; expected whole seconds (or a number with ms, s, mi or h)`);
    return;
  }
  if (scope.context !== 'main') {
    report.warning(node.source, node.name, `ignored: Stickler has one ${node.name} for all virtual hosts; expected it in the main server`);
    return;
  }
  timeouts[TIMEOUT_FIELDS[node.name as keyof typeof TIMEOUT_FIELDS]] = ms;
}

/** Stickler has one client policy: a vhost's or a location's own value would be silently broader or narrower. */
function mainServerOnly(node: DirectiveNode, scope: Scope, report: Report): boolean {
  if (scope.context === 'main') return true;
  report.warning(node.source, node.name, `ignored: Stickler has one ${node.name} for all requests; expected it in the main server`);
  return false;
}

/** The LimitRequest* directives and H2MaxSessionStreams. */
export function readRequestLimit(node: DirectiveNode, scope: Scope, client: Partial<ClientPolicy>, report: Report): void {
  const { field, min, expected } = REQUEST_LIMITS[node.name as keyof typeof REQUEST_LIMITS];
  if (!arity(node, 1, 1, expected, report)) return;
  const arg = node.args[0] ?? '';
  const value = /^\d{1,16}$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    report.error(node.source, node.name, `"${arg}" is not a valid limit; expected ${expected}`);
    return;
  }
  if (mainServerOnly(node, scope, report)) client[field] = value;
}

export function readRequestReadTimeout(node: DirectiveNode, scope: Scope, client: Partial<ClientPolicy>, report: Report): void {
  if (!arity(node, 1, 3, 'handshake=, header= and body= settings, such as header=20-40,MinRate=500 body=20,MinRate=500', report)) return;
  const stages = parseRequestReadTimeout(node.args);
  if ('error' in stages) {
    report.error(node.source, node.name, stages.error);
    return;
  }
  if (!mainServerOnly(node, scope, report)) return;
  for (const [stage, value] of Object.entries(stages) as [ReadStage, ReadTimeout][]) {
    // 0 switches a stage off in httpd; Stickler never reads or handshakes without a bound.
    if (value.timeout === 0) {
      report.warning(node.source, node.name, `ignored: ${stage}=0 would leave slow clients unbounded; Stickler keeps its ${stage} timeout`);
    } else if (stage !== 'handshake') {
      client[stage === 'header' ? 'headerTimeout' : 'bodyTimeout'] = value;
    } else {
      if (value.minRate > 0) report.warning(node.source, node.name, `the handshake timeout is fixed in Stickler: ${value.timeout / 1000} s, with no MinRate extension`);
      client.handshakeTimeout = value.timeout;
    }
  }
}
