// Name-based virtual host selection, as Apache's vhost.c (check_hostalias / matches_aliases) and mod_ssl's SNI
// check (ssl_engine_kernel.c ssl_hook_ReadReq) do it.

import type { VirtualHostConfig } from '../config/model.ts';
import { splitHostPort } from './host.ts';

/**
 * The virtual host for a request on `localPort`. Candidates are the vhosts for that port (port 0 stands for
 * `<VirtualHost *>`, any port) in configuration order. The name is the Host header, or the SNI name when there is
 * no usable Host; its port is stripped, case is ignored and a trailing dot dropped. The first candidate whose
 * ServerName equals the name, or one of whose ServerAlias entries matches it (`*` and `?` wildcards, `*` also
 * spanning dots as in Apache), wins; otherwise the first candidate, Apache's default for the address.
 *
 * Apache also prefers vhosts declared for the exact local IP over `*` ones; Stickler's vhosts are chosen by port
 * only. To pick the certificate in the TLS handshake, call it with the SNI name and no Host header.
 */
export function selectVirtualHost(
  vhosts: VirtualHostConfig[],
  localPort: number,
  sniName: string | undefined,
  hostHeader: string | undefined,
): VirtualHostConfig | undefined {
  const candidates = vhosts.filter((v) => v.port === localPort || v.port === 0);
  const name = requestedName(hostHeader) ?? requestedName(sniName);
  if (name !== undefined) {
    const named = candidates.find((v) => servesName(v, name));
    if (named !== undefined) return named;
  }
  return candidates[0];
}

/**
 * Whether an absolute-form target's authority (`GET https://name/x`) is a name one of the vhosts on `localPort`
 * serves (ServerName or ServerAlias, as selectVirtualHost matches them). A Host header nobody serves falls back to
 * the default vhost, as in Apache; an absolute-form authority nobody serves is refused instead, because only a
 * forward proxy is asked for other hosts, and Stickler must never act as one.
 */
export function servesAuthority(vhosts: VirtualHostConfig[], localPort: number, authority: string): boolean {
  const name = requestedName(authority);
  return name !== undefined && vhosts.some((v) => (v.port === localPort || v.port === 0) && servesName(v, name));
}

/** Where a request goes, a virtual host or a status to answer it with, and the host it named (for the log). */
export type VirtualHostChoice =
  | { kind: 'vhost'; vhost: VirtualHostConfig; host: string | undefined }
  | { kind: 'refuse'; status: 400 | 404 | 421; host: string | undefined };

/**
 * The virtual host of a request on `localPort`, by its Host (or its absolute-form target's authority, which
 * RFC 9112 §3.2.2 makes the host whatever Host says; one no vhost serves is refused: 400), checked against the
 * vhost the TLS handshake chose by SNI (421 when they differ), or 404 when no vhost listens there.
 */
export function requestVirtualHost(
  vhosts: VirtualHostConfig[],
  localPort: number,
  sniName: string | undefined,
  hostHeader: string | undefined,
  authority: string | undefined,
): VirtualHostChoice {
  if (authority !== undefined && !servesAuthority(vhosts, localPort, authority)) return { kind: 'refuse', status: 400, host: hostHeader };
  const host = authority ?? hostHeader;
  const byHost = selectVirtualHost(vhosts, localPort, undefined, host);
  if (sniName !== undefined && misdirected(selectVirtualHost(vhosts, localPort, sniName, undefined), byHost)) return { kind: 'refuse', status: 421, host };
  return byHost === undefined ? { kind: 'refuse', status: 404, host } : { kind: 'vhost', vhost: byHost, host };
}

/**
 * Whether the vhost chosen by Host must not be served on a connection whose handshake chose `vhostBySni`: the
 * request would get another vhost's TLS setup (certificate, client verification) than the one negotiated. Apache
 * answers 421 Misdirected Request then, unless both vhosts' TLS setups are the same (mod_ssl
 * ssl_server_compatible; here: same certificate, key and chain files). Without SNI there is nothing to compare
 * (Apache then only refuses under SSLStrictSNIVHostCheck, which Stickler does not have).
 */
export function misdirected(
  vhostBySni: VirtualHostConfig | undefined,
  vhostByHost: VirtualHostConfig | undefined,
): boolean {
  if (vhostBySni === undefined || vhostBySni === vhostByHost) return false;
  const a = vhostBySni.tls;
  const b = vhostByHost?.tls;
  if (a === undefined || b === undefined) return true;
  return a.certificateFile !== b.certificateFile || a.keyFile !== b.keyFile || a.chainFile !== b.chainFile;
}

function requestedName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const name = withoutTrailingDot(splitHostPort(value).host);
  return name === '' ? undefined : name;
}

function withoutTrailingDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

function servesName(vhost: VirtualHostConfig, name: string): boolean {
  if (vhost.serverName !== undefined && configuredName(vhost.serverName) === name) return true;
  return vhost.serverAliases.some((alias) => globMatches(configuredName(alias), name));
}

/** ServerName may be written `scheme://host:port`; only the host takes part in matching. */
function configuredName(value: string): string {
  const scheme = value.indexOf('://');
  return withoutTrailingDot(splitHostPort(scheme < 0 ? value : value.slice(scheme + 3)).host);
}

/**
 * Apache's ap_strcasecmp_match on already lower-cased strings: `*` any run (dots too), `?` any one character.
 * Iterative with a single backtrack point, so hostile names cannot make it exponential.
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      starText = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
