// Response rewriting: ProxyPassReverse (proxy_util.c ap_proxy_location_reverse_map) and the cookie maps
// (ap_proxy_cookie_reverse_map), with Apache's quirks kept on purpose so a migrated configuration behaves the same.

import type { BalancerConfig, CookieRewrite, ReverseRule } from '../config/model.ts';
import { FieldNameSet, equalsLowerCase } from '../http/field-name.ts';
import type { HeaderList } from '../http/head.ts';
import { connectionTokens, isHopByHop } from './hop-by-hop.ts';
import { defaultPort, splitHostPort } from './host.ts';
import { memberName } from './member-url.ts';

export interface ReverseContext {
  rules: ReverseRule[];
  balancers: BalancerConfig[];
  cookiePaths: CookieRewrite[];
  cookieDomains: CookieRewrite[];
  scheme: 'https' | 'http';
  /** The client's Host header, port included ('' when there was none). */
  hostHeader: string;
}

// Content-Length and Transfer-Encoding go because the caller re-frames the body for the client.
const NOT_RETURNED = new FieldNameSet([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'content-length',
  'trailer',
  'upgrade',
]);

/** The header fields Apache passes through ProxyPassReverse (mod_proxy_http.c). */
const URL_HEADERS = new FieldNameSet(['location', 'content-location', 'uri', 'destination']);

/** One pass over the member's headers, with no name lower-cased: this runs on every proxied response. */
export function rewriteResponseHeaders(headers: HeaderList, ctx: ReverseContext): HeaderList {
  const named = connectionTokens(headers, NOT_RETURNED);
  const out: HeaderList = [];
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    const [name, value] = field;
    if (isHopByHop(name, NOT_RETURNED, named)) continue;
    if (URL_HEADERS.has(name)) out.push([name, reverseMapUrl(value, ctx)]);
    else if (equalsLowerCase(name, 'set-cookie')) out.push([name, rewriteSetCookie(value, ctx.cookiePaths, ctx.cookieDomains)]);
    else out.push(field);
  }
  return out;
}

const BALANCER_PREFIX = 'balancer://';

/**
 * One URL through the ProxyPassReverse rules: the first rule that matches rewrites it, the rest are not tried.
 * Quirks kept from Apache:
 * - a `balancer://` rule compares against the members' URLs of that balancer, whichever balancer served the
 *   request, so an earlier rule for another balancer sharing member URLs wins (and may give `//`);
 * - `balancer://name` and `balancer://name/` compare the member URL (case-insensitive) with no boundary check, so
 *   member `http://h:8080` also matches `http://h:80801/...`; the only `//` protection is for a front path of `/`;
 * - `balancer://name/part` drops a trailing `/` from the member URL and then needs `part` right after it
 *   (case-sensitive);
 * - a plain rule is a case-insensitive prefix match, on the path only when the rule's URL starts with `/`;
 * - a rewritten value that is not absolute is made absolute from the front end's scheme and the client's Host
 *   (default port left out); with no Host at all it stays relative, which RFC 9110 §10.2.2 allows.
 */
export function reverseMapUrl(url: string, ctx: ReverseContext): string {
  for (const rule of ctx.rules) {
    const balancer = rule.url.toLowerCase().startsWith(BALANCER_PREFIX) ? findBalancer(rule.url, ctx.balancers) : undefined;
    const rewritten = balancer ? mapThroughBalancer(url, rule, balancer) : mapThroughUrl(url, rule);
    if (rewritten !== undefined) return absolute(rewritten, ctx);
  }
  return url;
}

function findBalancer(ruleUrl: string, balancers: BalancerConfig[]): BalancerConfig | undefined {
  const rest = ruleUrl.slice(BALANCER_PREFIX.length);
  const slash = rest.indexOf('/');
  const name = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  return balancers.find((b) => b.name.toLowerCase() === name);
}

function mapThroughBalancer(url: string, rule: ReverseRule, balancer: BalancerConfig): string | undefined {
  const afterPrefix = rule.url.slice(BALANCER_PREFIX.length);
  const slash = afterPrefix.indexOf('/');
  const part = slash < 0 ? '' : afterPrefix.slice(slash);
  for (const member of balancer.members) {
    let name = memberName(member.url);
    if (part !== '' && part !== '/') {
      if (name.endsWith('/')) name = name.slice(0, -1);
      if (startsWithIgnoreCase(url, name) && url.startsWith(part, name.length)) {
        return rule.path + url.slice(name.length + part.length);
      }
    } else if (startsWithIgnoreCase(url, name)) {
      const rest = url.slice(name.length);
      return rule.path === '/' && rest.startsWith('/') ? rest : rule.path + rest;
    }
  }
  return undefined;
}

function mapThroughUrl(url: string, rule: ReverseRule): string | undefined {
  let part = url;
  if (rule.url.startsWith('/')) {
    const authority = url.indexOf('://');
    const pathStart = authority < 0 ? -1 : url.indexOf('/', authority + 3);
    if (pathStart >= 0) part = url.slice(pathStart);
  }
  if (rule.url === '' || !startsWithIgnoreCase(part, rule.url)) return undefined;
  return rule.path + part.slice(rule.url.length);
}

function startsWithIgnoreCase(value: string, prefix: string): boolean {
  return value.length >= prefix.length && value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

/** Apache's ap_is_url: a scheme (letters, digits, `+-.`) then `:`. `//host/x` is therefore not absolute. */
function isAbsoluteUrl(value: string): boolean {
  return /^[A-Za-z0-9+.-]+:/.test(value);
}

/** Apache's ap_construct_url: `scheme://host[:port]` glued to the value as is, with no `/` added. */
function absolute(value: string, ctx: ReverseContext): string {
  if (isAbsoluteUrl(value) || ctx.hostHeader.trim() === '') return value;
  const { host, port } = splitHostPort(ctx.hostHeader);
  const shownPort = port === undefined || port === defaultPort(ctx.scheme) ? '' : `:${port}`;
  return `${ctx.scheme}://${host}${shownPort}${value}`;
}

/**
 * ProxyPassReverseCookiePath / ProxyPassReverseCookieDomain on one Set-Cookie value. A `path=` attribute whose
 * value starts with a rule's `from` (case-sensitive) is replaced whole by its `to` — `Path=/app/sub` with
 * `/app/ → /` gives `Path=/` — and likewise `domain=` with a case-insensitive prefix. The first matching rule
 * applies. Apache also inspects the leading name=value pair, so a cookie literally named `path` could have its
 * value rewritten; Stickler never touches the cookie-pair. Apache rewrites only the last `path=`/`domain=`
 * attribute of a line; Stickler rewrites each one that matches (a line with two Path attributes is odd anyway).
 */
export function rewriteSetCookie(value: string, paths: CookieRewrite[], domains: CookieRewrite[]): string {
  if (paths.length === 0 && domains.length === 0) return value;
  const [pair = '', ...attributes] = value.split(';');
  return [pair, ...attributes.map((attribute) => rewriteAttribute(attribute, paths, domains))].join(';');
}

function rewriteAttribute(attribute: string, paths: CookieRewrite[], domains: CookieRewrite[]): string {
  const name = /^\s*(path|domain)=/i.exec(attribute);
  if (name === null) return attribute;
  const current = attribute.slice(name[0].length);
  const rule =
    name[1]!.toLowerCase() === 'path'
      ? paths.find((r) => current.startsWith(r.from))
      : domains.find((r) => startsWithIgnoreCase(current, r.from));
  return rule === undefined ? attribute : name[0] + rule.to;
}
