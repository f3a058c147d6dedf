// The request headers a member receives: Apache's ap_proxy_create_hdrbrgd (proxy_util.c) minus its framing work,
// which the caller does when it re-frames the body.

import { FieldNameSet } from '../http/field-name.ts';
import type { HeaderList } from '../http/head.ts';
import { connectionTokens, isHopByHop } from './hop-by-hop.ts';
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
const NOT_FORWARDED = new FieldNameSet([
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

/** The fields Stickler writes itself when ProxyAddHeaders is on (the default). */
const FORWARDED = new FieldNameSet(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-server', 'x-forwarded-proto']);

/**
 * Host comes first, as Apache writes it, then the client's remaining headers in their order, then the
 * X-Forwarded-* headers that were not already there. Throws only when `memberUrl` is not a valid URL, which the
 * configuration loader has already refused.
 *
 * One pass over the client's headers, with no name lower-cased: this runs on every proxied request.
 */
export function forwardRequestHeaders(headers: HeaderList, ctx: ForwardContext): HeaderList {
  const named = connectionTokens(headers, NOT_FORWARDED);
  const out: HeaderList = [['Host', outgoingHost(ctx)]];
  const add = ctx.addForwardedHeaders;
  const forwardedFor = new Merge();
  // Apache adds X-Forwarded-Host only when the request had a Host header; an empty one carries no information.
  const forwardedHost = add && ctx.hostHeader !== '' ? new Merge() : undefined;
  // Apache falls back to the machine's host name; Stickler has no such lookup on the request path, so it omits it.
  const forwardedServer = add && ctx.serverName !== '' ? new Merge() : undefined;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (isHopByHop(field[0], NOT_FORWARDED, named)) continue;
    if (add) {
      switch (FORWARDED.find(field[0])) {
        case 'x-forwarded-for':
          forwardedFor.take(out, field);
          continue;
        case 'x-forwarded-host':
          if (forwardedHost === undefined) break;
          forwardedHost.take(out, field);
          continue;
        case 'x-forwarded-server':
          if (forwardedServer === undefined) break;
          forwardedServer.take(out, field);
          continue;
        case 'x-forwarded-proto':
          // Not Apache: Tomcat and WSO2 need it behind TLS termination, and a client-sent value must never survive.
          continue;
      }
    }
    out.push(field);
  }
  if (!add) return out;
  forwardedFor.finish(out, 'X-Forwarded-For', ctx.clientIp);
  forwardedHost?.finish(out, 'X-Forwarded-Host', ctx.hostHeader);
  forwardedServer?.finish(out, 'X-Forwarded-Server', ctx.serverName);
  out.push(['X-Forwarded-Proto', ctx.scheme]);
  return out;
}

function outgoingHost(ctx: ForwardContext): string {
  if (!ctx.preserveHost) return memberHostHeader(ctx.memberUrl);
  // Apache's answer to an HTTP/1.0 request without Host under ProxyPreserveHost On is the ServerName.
  if (ctx.hostHeader !== '') return ctx.hostHeader;
  return ctx.serverName !== '' ? ctx.serverName : memberHostHeader(ctx.memberUrl);
}

/**
 * Apache's apr_table_mergen: append `, value` to the existing field. Apache merges into the first occurrence only
 * and still sends the others; Stickler folds all occurrences into the first, which means the same list (RFC 9110
 * §5.3) but leaves the member no way to be confused about which line is the last hop. Empty values are dropped.
 */
class Merge {
  /** Where the first occurrence sits in the output list; -1 until one is seen. */
  private index = -1;
  private values = '';

  /** A client occurrence: the first keeps its place (and its name's case), later ones only give their value. */
  take(out: HeaderList, [name, value]: [string, string]): void {
    if (this.index < 0) {
      this.index = out.length;
      out.push([name, '']);
    }
    const trimmed = value.trim();
    if (trimmed !== '') this.values = this.values === '' ? trimmed : `${this.values}, ${trimmed}`;
  }

  /** Appends Stickler's value: into the first occurrence, or as a new field named `name` at the end. */
  finish(out: HeaderList, name: string, value: string): void {
    const merged = this.values === '' ? value : `${this.values}, ${value}`;
    if (this.index < 0) out.push([name, merged]);
    else out[this.index]![1] = merged;
  }
}
