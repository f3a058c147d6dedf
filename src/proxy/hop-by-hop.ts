// Hop-by-hop header removal (RFC 9110 §7.6.1), shared by both directions of the proxy.

import { FieldNameSet, equalsLowerCase } from '../http/field-name.ts';
import type { HeaderList } from '../http/head.ts';

/** Shared by every list without a Connection field (the common case), so none builds a set. */
const NO_NAMES = new FieldNameSet([]);

/**
 * The names listed in every Connection header, less those in `alwaysDropped`, which go anyway: the usual
 * `Connection: keep-alive` then builds no set on every request.
 */
export function connectionTokens(headers: HeaderList, alwaysDropped: FieldNameSet): FieldNameSet {
  let tokens: string[] | undefined;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (!equalsLowerCase(name, 'connection')) continue;
    for (const token of value.split(',')) {
      const trimmed = token.trim();
      if (trimmed !== '' && !alwaysDropped.has(trimmed)) (tokens ??= []).push(trimmed);
    }
  }
  return tokens === undefined ? NO_NAMES : new FieldNameSet(tokens);
}

/**
 * Whether the field called `name` stops at this hop: it is in `alwaysDropped`, or the peer listed it in
 * Connection (`named`, from connectionTokens with the same `alwaysDropped`). Callers drop these before adding
 * their own X-Forwarded-* fields, since removing the listed ones afterwards is what CVE-2022-31813 got wrong.
 */
export function isHopByHop(name: string, alwaysDropped: FieldNameSet, named: FieldNameSet): boolean {
  return alwaysDropped.has(name) || (named.size > 0 && named.has(name));
}
