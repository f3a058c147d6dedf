// ProxyPass prefix matching (mod_proxy.c alias_match / ap_proxy_trans_match / proxy_trans).

import type { RouteConfig } from '../config/model.ts';
import { prefixLength } from '../config/path-prefix.ts';
import { memberPath } from './member-url.ts';
import type { Target } from './target.ts';

export type Mapping =
  | { kind: 'exclude'; route: RouteConfig }
  | {
      kind: 'proxy';
      route: RouteConfig;
      balancer: string;
      /** path+query to send to the member, before the member URL's own path is prefixed */
      backendPath: string;
    };

/**
 * The first route whose prefix matches the request (Apache's first-match walk; a matching `!` route stops the
 * walk, so exclusions only work when listed before the general rule). undefined: nothing matched, do not proxy.
 *
 * Matching is on `target.decodedPath`, as Apache matches `r->uri`. What is forwarded is cut from
 * `target.normalizedPath`, which keeps the client's encoding: Apache decodes and re-encodes (mod_proxy_http
 * canon; checked against 2.4.71, `/a%20b/%3B` reached the member as `/a%20b/;`), Stickler never decodes what it
 * forwards, so `%3B` stays `%3B` and `;jsessionid=` stays a parameter.
 * The two paths have the same segments, and a match always ends at a segment edge (see `prefixLength`), so the
 * decoded match length becomes a raw offset by counting `/`.
 *
 * backendPath is Apache's `real + uri[matched:]`, glued with no `/` added or removed (`ProxyPass /app
 * balancer://b/` sends `/app/x` as `//x`, as Apache 2.4.71 does), then the query.
 */
export function mapRequest(routes: RouteConfig[], target: Target): Mapping | undefined {
  for (const route of routes) {
    const matched = prefixLength(target.decodedPath, route.path);
    if (matched === 0) continue;
    if (route.target.kind === 'exclude') return { kind: 'exclude', route };
    const rest = target.normalizedPath.slice(rawOffset(target.decodedPath, target.normalizedPath, matched));
    return { kind: 'proxy', route, balancer: route.target.balancer, backendPath: route.target.path + rest + target.query };
  }
  return undefined;
}

/** The offset in `raw` of the segment edge at `decodedOffset` in `decoded` (both with single `/` separators). */
function rawOffset(decoded: string, raw: string, decodedOffset: number): number {
  let slashes = 0;
  for (let i = 0; i < decodedOffset; i++) if (decoded[i] === '/') slashes++;
  const afterSlash = decoded[decodedOffset - 1] === '/';
  // After a slash: just past the same slash in raw. Before one (or at the end): at the next slash in raw.
  const wanted = afterSlash ? slashes : slashes + 1;
  let seen = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '/' && ++seen === wanted) return afterSlash ? i + 1 : i;
  }
  return raw.length;
}

/**
 * The origin-form target for the member: the member URL's path, then backendPath (`https://h:9443/app` and
 * `/x?y` give `/app/x?y`), as Apache's balancer_fixup glues them. A result not starting with `/` gets one.
 */
export function memberRequestTarget(memberUrl: string, backendPath: string): string {
  const target = memberPath(memberUrl) + backendPath;
  return target.startsWith('/') ? target : `/${target}`;
}
