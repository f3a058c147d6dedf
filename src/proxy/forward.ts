// The request headers a member receives: Apache's ap_proxy_create_hdrbrgd (proxy_util.c) minus its framing work,
// which the caller does when it re-frames the body, and with one departure: the headers that tell a member who the
// client is (X-Forwarded-*, Forwarded, client-certificate headers) are believed only from a trusted proxy. From
// anyone else they are dropped and Stickler's own values written, never appended to what the client claimed.

import { FieldNameSet, startsWithLowerCase } from '../http/field-name.ts';
import type { HeaderList } from '../http/head.ts';
import { connectionTokens, isHopByHop } from './hop-by-hop.ts';
import { inRange, parseIp, parseIpRange, type IpRange } from '../config/ip-range.ts';
import { memberHostHeader } from './member-url.ts';
import type { ClientCertificateFacts } from '../tls/client-verify.ts';
import { CLIENT_CERT, CLIENT_CERT_CHAIN, clientCertChainField, clientCertField } from '../tls/rfc9440.ts';

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
  /**
   * The peer is a configured trusted proxy (see isTrustedProxy): its identity headers are kept and Stickler's
   * values appended, as Apache does for everyone. Absent or false, they are replaced.
   */
  trustedPeer?: boolean;
  /**
   * Present when the virtual host forwards client certificates (RFC 9440), with the connection's certificate facts
   * (undefined for a connection that asked for none). Client-Cert and Client-Cert-Chain then come from Stickler
   * alone, whoever the peer is: a proxy in front presented no certificate of the client's to Stickler.
   */
  forwardCertificate?: { facts: ClientCertificateFacts | undefined };
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
 * Other claims about the client that only a proxy in front may make: RFC 7239 Forwarded, the client-address
 * headers of other proxies and CDNs, and client-certificate headers (RFC 9440 Client-Cert, Envoy's
 * X-Forwarded-Client-Cert, mod_ssl-style SSL_CLIENT_* that Tomcat's SSLValve reads, nginx-style X-SSL-*).
 */
const IDENTITY = new FieldNameSet([
  'forwarded', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'client-cert', 'client-cert-chain', 'x-client-cert',
  'x-client-verify', 'x-client-dn',
]);
/** Lower-case, ASCII: field names are tokens, so an ASCII case fold is the whole comparison. */
const IDENTITY_PREFIXES = ['x-forwarded-', 'x-ssl', 'ssl_', 'ssl-'];

const RFC9440 = new FieldNameSet([CLIENT_CERT, CLIENT_CERT_CHAIN]);

const trustedRanges = new WeakMap<readonly string[], IpRange[]>();

/** Whether `clientIp` is in the configuration's trusted proxies (validated when the configuration was read). */
export function isTrustedProxy(clientIp: string, proxies: readonly string[] | undefined): boolean {
  if (proxies === undefined || proxies.length === 0) return false;
  let ranges = trustedRanges.get(proxies);
  if (ranges === undefined) {
    ranges = proxies.flatMap((p) => parseIpRange(p) ?? []);
    trustedRanges.set(proxies, ranges);
  }
  const address = parseIp(clientIp);
  return address !== undefined && ranges.some((range) => inRange(address, range));
}

/**
 * Host comes first, as Apache writes it, then the client's remaining headers in their order, then the
 * X-Forwarded-* headers that were not already there. A peer that is not a trusted proxy loses every identity
 * header, whether or not Stickler adds its own (ProxyAddHeaders). Throws only when `memberUrl` is not a valid URL,
 * which the configuration loader has already refused.
 *
 * One pass over the client's headers, with no name lower-cased: this runs on every proxied request.
 */
export function forwardRequestHeaders(headers: HeaderList, ctx: ForwardContext): HeaderList {
  const named = connectionTokens(headers, NOT_FORWARDED);
  const out: HeaderList = [['Host', outgoingHost(ctx)]];
  const add = ctx.addForwardedHeaders;
  const trusted = ctx.trustedPeer === true;
  const certificates = ctx.forwardCertificate;
  let protoKept = false;
  const forwardedFor = new Merge();
  // Apache adds X-Forwarded-Host only when the request had a Host header; an empty one carries no information.
  const forwardedHost = add && ctx.hostHeader !== '' ? new Merge() : undefined;
  // Apache falls back to the machine's host name; Stickler has no such lookup on the request path, so it omits it.
  const forwardedServer = add && ctx.serverName !== '' ? new Merge() : undefined;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (isHopByHop(field[0], NOT_FORWARDED, named)) continue;
    const ours = FORWARDED.find(field[0]);
    if (!trusted && (ours !== undefined || isIdentityHeader(field[0]))) continue;
    if (certificates !== undefined && RFC9440.has(field[0])) continue;
    if (add) {
      switch (ours) {
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
          // A trusted proxy in front knows the client's scheme; Stickler only knows the proxy's.
          protoKept = true;
          break;
      }
    }
    out.push(field);
  }
  if (certificates !== undefined) addCertificateFields(out, certificates.facts);
  if (!add) return out;
  forwardedFor.finish(out, 'X-Forwarded-For', ctx.clientIp);
  forwardedHost?.finish(out, 'X-Forwarded-Host', ctx.hostHeader);
  forwardedServer?.finish(out, 'X-Forwarded-Server', ctx.serverName);
  // Not Apache: Tomcat and WSO2 need it behind TLS termination.
  if (!protoKept) out.push(['X-Forwarded-Proto', ctx.scheme]);
  return out;
}

/**
 * The client's fields without the identity claims an untrusted peer may not make, for RequestHeader rules to run on:
 * what an operator's rule sets (`RequestHeader set X-Forwarded-Proto https`, or SSL_CLIENT_* for Tomcat) is the
 * configuration's word, not the client's, and is then forwarded as a trusted proxy's would be.
 */
export function withoutClientClaims(headers: HeaderList): HeaderList {
  return headers.filter(([name]) => FORWARDED.find(name) === undefined && !isIdentityHeader(name));
}

/**
 * RFC 9440's fields for the connection's certificate. Only admitted connections have facts, so any certificate here
 * passed the virtual host's SSLVerifyClient level (under optional_no_ca, with an issuer the member may know).
 */
function addCertificateFields(out: HeaderList, facts: ClientCertificateFacts | undefined): void {
  if (facts?.certificate === undefined) return;
  out.push([CLIENT_CERT, clientCertField(facts.certificate)]);
  const chain = clientCertChainField(facts.chain);
  if (chain !== undefined) out.push([CLIENT_CERT_CHAIN, chain]);
}

function isIdentityHeader(name: string): boolean {
  if (IDENTITY.has(name)) return true;
  for (const prefix of IDENTITY_PREFIXES) if (startsWithLowerCase(name, prefix)) return true;
  return false;
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
