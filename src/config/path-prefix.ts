// How a URL-path prefix of the configuration (ProxyPass, <Location>) covers a request's path: one rule for the
// readers, which find routes an earlier one shadows, and for the proxy and the exchange, which match requests.

/**
 * Apache's alias_match: how many characters of `path` the prefix `pattern` covers, 0 for no match. Case-sensitive;
 * a run of `/` in the pattern matches a run of `/` in the path; the pattern's last segment must end where a path
 * segment ends (`/foo` matches `/foo` and `/foo/x`, not `/foobar`); `/foo/` does not match `/foo`.
 * So the match ends either just after a `/` (pattern ends with `/`) or just before one or at the end.
 */
export function prefixLength(path: string, pattern: string): number {
  if (pattern === '') return 0;
  let p = 0;
  let u = 0;
  while (p < pattern.length && u < path.length) {
    if (pattern[p] === '/') {
      if (path[u] !== '/') return 0;
      while (pattern[p] === '/') p++;
      while (path[u] === '/') u++;
    } else if (pattern[p++] !== path[u++]) {
      return 0;
    }
  }
  if (p < pattern.length) return 0;
  if (pattern[pattern.length - 1] !== '/' && u < path.length && path[u] !== '/') return 0;
  return u;
}
