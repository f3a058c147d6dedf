// Hop-by-hop header removal (RFC 9110 §7.6.1), shared by both directions of the proxy.

import type { HeaderList } from '../http/head.ts';

/** Lower-case names listed in every Connection header. */
export function connectionTokens(headers: HeaderList): Set<string> {
  const tokens = new Set<string>();
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'connection') continue;
    for (const token of value.split(',')) {
      const trimmed = token.trim().toLowerCase();
      if (trimmed !== '') tokens.add(trimmed);
    }
  }
  return tokens;
}

/**
 * The headers without `alwaysDropped` (lower-case names) and without every header the peer listed in Connection.
 * Removing the listed ones before adding our own X-Forwarded-* is what CVE-2022-31813 got wrong.
 */
export function withoutHopByHop(headers: HeaderList, alwaysDropped: ReadonlySet<string>): HeaderList {
  const named = connectionTokens(headers);
  return headers.filter(([name]) => {
    const lower = name.toLowerCase();
    return !alwaysDropped.has(lower) && !named.has(lower);
  });
}
