// Which listeners can be bound together, as httpd binds them on Linux. httpd sets IPV6_V6ONLY off (Debian's and
// Fedora's builds enable IPv4-mapped addresses), so a `::` socket takes IPv4 too, and its open_listeners
// (server/listen.c) binds `::` first and skips a 0.0.0.0 on the same port instead of failing on it. Any other
// overlap (a wildcard beside a specific address of its family, the same address twice) fails at bind with
// EADDRINUSE, SO_REUSEADDR notwithstanding; httpd refuses the same address written twice before that.
import { isIPv4, isIPv6 } from 'node:net';
import { where } from './apache/balancers.ts';
import type { Diagnostic, ListenerConfig } from './model.ts';

/**
 * A 0.0.0.0 listener folded into the `::` one on its port: one dual-stack socket, as httpd binds. The `::` listener
 * is kept, at the later of the two places so the manager's own listener stays last.
 */
export function foldDualStack(listeners: readonly ListenerConfig[]): ListenerConfig[] {
  const folded = [...listeners];
  for (const v6 of listeners.filter((l) => l.host === '::')) {
    const v4 = folded.findIndex((l) => l.host === '0.0.0.0' && l.port === v6.port);
    if (v4 < 0) continue;
    const at = folded.indexOf(v6);
    const dual = { ...v6, tls: v6.tls || folded[v4]!.tls };
    folded[Math.max(at, v4)] = dual;
    folded.splice(Math.min(at, v4), 1);
  }
  return folded;
}

/** What each listener takes besides its own address. */
function overlaps(a: string, b: string): boolean {
  if (a === b || a === '::' || b === '::') return true;
  if (a === '0.0.0.0') return isIPv4(b);
  if (b === '0.0.0.0') return isIPv4(a);
  return false;
}

/** The listeners that cannot be bound beside an earlier one, each at its own line. */
export function listenerClashes(listeners: readonly ListenerConfig[], directive = 'Listen'): Diagnostic[] {
  const problems: Diagnostic[] = [];
  listeners.forEach((l, i) => {
    const earlier = listeners.slice(0, i).find((e) => e.port === l.port && overlaps(e.host, l.host));
    if (earlier === undefined) return;
    const at = where(earlier.source, l.source);
    const why = earlier.host === l.host
      ? `${l.host}:${l.port} is already listened on at ${at}; httpd refuses multiple listeners on the same address and port; expected one Listen per address:port`
      : `${show(l.host)}:${l.port} and ${show(earlier.host)}:${earlier.port} (${at}) cannot both be bound (httpd fails to start too: Address already in use): ${takes(wildcard(earlier.host, l.host), l.port)}; expected either the wildcard or specific addresses`;
    problems.push({ severity: 'error', file: l.source.file, line: l.source.line, directive: l.implied ? '<VirtualHost>' : directive, message: why });
  });
  return problems;
}

const wildcard = (a: string, b: string): string => (a === '::' || b === '::' ? '::' : '0.0.0.0');

const takes = (host: string, port: number): string =>
  host === '::' ? `[::] already takes every address on port ${port}, IPv4 ones too` : `0.0.0.0 already takes every IPv4 address on port ${port}`;

const show = (host: string): string => (isIPv6(host) ? `[${host}]` : host);
