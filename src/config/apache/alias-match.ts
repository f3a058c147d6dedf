// httpd's alias_match (mod_proxy.c): ProxyPass path-prefix matching. Used here to find rules that an earlier rule
// always wins over.

/** Length of `uri` matched by the ProxyPass path `alias`, or 0 when it does not match. */
export function aliasMatch(uri: string, alias: string): number {
  let a = 0;
  let u = 0;
  while (a < alias.length && u < uri.length) {
    if (alias[a] === '/') {
      // Any run of '/' in the alias matches any run of '/' in the URI, but there must be at least one.
      if (uri[u] !== '/') return 0;
      while (alias[a] === '/') a++;
      while (uri[u] === '/') u++;
    } else if (uri[u++] !== alias[a++]) {
      return 0;
    }
  }
  if (u === uri.length && a !== alias.length) return 0;
  // The last alias segment must end at a segment boundary: /foo matches /foo/x but not /foobar.
  if (alias[a - 1] !== '/' && u < uri.length && uri[u] !== '/') return 0;
  return u;
}

/** True when every URI that `later` matches is matched by `earlier` first. */
export function shadows(earlier: string, later: string): boolean {
  return aliasMatch(later, earlier) > 0;
}
