// The request headers a member receives: Apache's ap_proxy_create_hdrbrgd (proxy_util.c) minus its framing work,
// which the caller does when it re-frames the body.

import type { HeaderList } from '../http/head.ts';
import { withoutHopByHop } from './hop-by-hop.ts';
import { memberHostHeader } from './member-url.ts';

export interface ForwardContext {
  clientIp: string;
  /** The client's Host header as received ('' when there was none). */
  hostHeader: string;
  /** ServerName of the virtual host that took the request. */
  serverName: string;
  preserveHost: boolean;
  addForwardedHeaders: boolean;
  memberUrl: string;
  /** The scheme the client used to reach Stickler. */
  scheme: 'https' | 'http';
}

// Host is not hop-by-hop, but it is always rebuilt below. Content-Length and Transfer-Encoding go because the
// caller re-frames; Expect because the 100-continue exchange with the client is Stickler's, not the member's.
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'expect',
  'host',
]);

/**
 * Host comes first, as Apache writes it, then the client's remaining headers in their order, then the
 * X-Forwarded-* headers that were not already there. Throws only when `memberUrl` is not a valid URL, which the
 * configuration loader has already refused.
 */
export function forwardRequestHeaders(headers: HeaderList, ctx: ForwardContext): HeaderList {
  const out: HeaderList = [['Host', forwardedHost(ctx)], ...withoutHopByHop(headers, NOT_FORWARDED)];
  if (!ctx.addForwardedHeaders) return out;
  mergeHeader(out, 'X-Forwarded-For', ctx.clientIp);
  // Apache adds X-Forwarded-Host only when the request had a Host header; an empty one carries no information.
  if (ctx.hostHeader !== '') mergeHeader(out, 'X-Forwarded-Host', ctx.hostHeader);
  // Apache falls back to the machine's host name; Stickler has no such lookup on the request path, so it omits it.
  if (ctx.serverName !== '') mergeHeader(out, 'X-Forwarded-Server', ctx.serverName);
  // Not Apache: Tomcat and WSO2 need it behind TLS termination, and a client-sent value must never survive.
  setHeader(out, 'X-Forwarded-Proto', ctx.scheme);
  return out;
}

function forwardedHost(ctx: ForwardContext): string {
  if (!ctx.preserveHost) return memberHostHeader(ctx.memberUrl);
  // Apache's answer to an HTTP/1.0 request without Host under ProxyPreserveHost On is the ServerName.
  if (ctx.hostHeader !== '') return ctx.hostHeader;
  return ctx.serverName !== '' ? ctx.serverName : memberHostHeader(ctx.memberUrl);
}

/**
 * Apache's apr_table_mergen: append `, value` to the existing field. Apache merges into the first occurrence only
 * and still sends the others; Stickler folds all occurrences into the first, which means the same list (RFC 9110
 * §5.3) but leaves the member no way to be confused about which line is the last hop.
 */
function mergeHeader(headers: HeaderList, name: string, value: string): void {
  const lower = name.toLowerCase();
  const values: string[] = [];
  let first = -1;
  for (let i = 0; i < headers.length; i++) {
    const [n, v] = headers[i]!;
    if (n.toLowerCase() !== lower) continue;
    if (first < 0) first = i;
    if (v.trim() !== '') values.push(v.trim());
  }
  values.push(value);
  const merged: [string, string] = [headers[first]?.[0] ?? name, values.join(', ')];
  removeHeader(headers, lower);
  if (first < 0) headers.push(merged);
  else headers.splice(first, 0, merged);
}

function setHeader(headers: HeaderList, name: string, value: string): void {
  removeHeader(headers, name.toLowerCase());
  headers.push([name, value]);
}

function removeHeader(headers: HeaderList, lower: string): void {
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0].toLowerCase() === lower) headers.splice(i, 1);
}
