// Member (BalancerMember) URLs as Apache sees them once the configuration is loaded.

import { defaultPort, splitHostPort } from './host.ts';

export interface MemberUrl {
  /** Lower-case scheme. */
  scheme: string;
  /** Lower-case host; IPv6 literals keep their brackets. */
  host: string;
  port?: string;
  /** Everything after the authority (`/app`, or '' when the URL stops at the authority). */
  path: string;
}

const MAX_REMEMBERED_URLS = 1024;

const ABSOLUTE_URL = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

/** undefined when `url` is not `scheme://authority[path]` with a non-empty host and a numeric port. */
export function parseMemberUrl(url: string): MemberUrl | undefined {
  const parts = ABSOLUTE_URL.exec(url);
  if (parts === null) return undefined;
  const [, scheme = '', authority = '', path = ''] = parts;
  // Userinfo is never used to reach a member; dropping it keeps it out of Host headers.
  const hostPort = splitHostPort(authority.slice(authority.lastIndexOf('@') + 1));
  if (hostPort.host === '' || (hostPort.port !== undefined && !/^[0-9]{1,5}$/.test(hostPort.port))) return undefined;
  return { scheme: scheme.toLowerCase(), ...hostPort, path };
}

function requireMemberUrl(url: string): MemberUrl {
  const parsed = parseMemberUrl(url);
  if (parsed === undefined) throw new Error(`invalid member URL "${url}": expected scheme://host[:port][/path]`);
  return parsed;
}

/**
 * Apache's normalised worker name (`name_ex`, proxy_util.c ap_proxy_define_worker_ex): scheme and host lower-cased,
 * the scheme's default port dropped, path kept as written. ProxyPassReverse compares response URLs against it.
 */
export const memberName = memoized((url: string): string => {
  const m = requireMemberUrl(url);
  const port = m.port === undefined || m.port === defaultPort(m.scheme) ? '' : `:${m.port}`;
  return `${m.scheme}://${m.host}${port}${m.path}`;
});

/**
 * The Host header Apache sends with ProxyPreserveHost Off (proxy_util.c ap_proxy_create_hdrbrgd): the port is left
 * out when it was not written, when it is the scheme's default (the worker name already dropped it), and when it
 * is 80 whatever the scheme — so `https://node:80` gets `Host: node`.
 */
export const memberHostHeader = memoized((url: string): string => {
  const m = requireMemberUrl(url);
  const omit = m.port === undefined || m.port === '80' || m.port === defaultPort(m.scheme);
  return omit ? m.host : `${m.host}:${m.port}`;
});

/** The member URL's own path, without any query it was (oddly) configured with. */
export const memberPath = memoized((url: string): string => {
  const path = requireMemberUrl(url).path;
  const query = path.search(/[?#]/);
  return query < 0 ? path : path.slice(0, query);
});

/**
 * Member URLs are a small fixed set from the configuration, yet these are asked on every request: each answer is
 * computed once per URL string. The bound only guards against a caller feeding arbitrary strings; a URL that
 * throws is not remembered, so it throws every time.
 */
function memoized(derive: (url: string) => string): (url: string) => string {
  const cache = new Map<string, string>();
  return (url) => {
    let value = cache.get(url);
    if (value === undefined) {
      value = derive(url);
      if (cache.size >= MAX_REMEMBERED_URLS) cache.clear();
      cache.set(url, value);
    }
    return value;
  };
}
