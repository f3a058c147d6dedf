// "Why would this request go to that member?": the request path's routing steps (virtual host, ProxyPass, route,
// balancer decision) run for a URL and its cookies without forwarding anything, on a copy of the balancer's state,
// so that the answer moves no counter of the running balancer. Shared by `stickler explain` and the manager's API.
import type { Balancer } from '../balancer/balancer.ts';
import { newDecision, recordChoice, type RoutingDecision } from '../balancer/decision.ts';
import { isPlainUrl, type Source, type VirtualHostConfig } from '../config/model.ts';
import { HttpError } from '../http/errors.ts';
import { defaultPort, splitHostPort } from '../proxy/host.ts';
import { mapRequest } from '../proxy/mapping.ts';
import { parseTarget } from '../proxy/target.ts';
import { requestVirtualHost } from '../proxy/vhost.ts';
import { requestRoute } from '../sticky/route.ts';

export interface ExplainRequest {
  /** `https://host[:port]/path?query`, or `/path?query` for the first virtual host. */
  url: string;
  /** Cookie header values, `NAME=value` each. */
  cookies: string[];
  /** A Host header, which picks the virtual host as it would for a real request. */
  host?: string;
}

export interface Explanation {
  url: string;
  virtualHost: { name: string; port: number; at: string };
  mapping: { path: string; target: string; at: string };
  decision: RoutingDecision;
  /** Which state the decision read: the live one, a manager state file, or only the configuration. */
  state: string;
}

/** `badUrl`: the URL itself is not one a client could send (a usage error), rather than one Stickler does not proxy. */
export type ExplainResult = { ok: true; explanation: Explanation } | { ok: false; reason: string; badUrl?: true };

const at = (source: Source): string => `${source.file}:${source.line}`;

/** The local port a URL arrives on: its own, its scheme's default if a host listens there, else the first host's. */
function portOf(url: string, explicit: string | undefined, vhosts: readonly VirtualHostConfig[]): number {
  if (explicit !== undefined) return Number(explicit);
  const scheme = /^(https?):/i.exec(url)?.[1];
  const byScheme = scheme === undefined ? undefined : Number(defaultPort(scheme));
  if (byScheme !== undefined && vhosts.some((v) => v.port === byScheme)) return byScheme;
  return vhosts[0]?.port ?? 0;
}

/**
 * The decision a request for `request.url` would get now. `balancers` is only read: the decision runs on a copy of
 * the named balancer's state (Balancer.dryRun).
 */
export function explainRequest(
  virtualHosts: VirtualHostConfig[],
  balancers: ReadonlyMap<string, { readonly balancer: Balancer }>,
  request: ExplainRequest,
  state: string,
  now: number,
): ExplainResult {
  let target;
  try {
    target = parseTarget(request.url);
  } catch (err) {
    if (err instanceof HttpError) return { ok: false, reason: `${request.url}: ${err.message}`, badUrl: true };
    throw err;
  }
  const authority = request.host ?? target.authority;
  const port = portOf(request.url, authority === undefined ? undefined : splitHostPort(authority).port, virtualHosts);
  const hostHeader = authority ?? virtualHosts[0]?.serverName;
  const choice = requestVirtualHost(virtualHosts, port, undefined, hostHeader, undefined);
  if (choice.kind === 'refuse') return { ok: false, reason: `${request.url}: no virtual host serves ${hostHeader ?? 'it'} on port ${port}` };
  const vhost = choice.vhost;
  const where = `<VirtualHost ${vhost.host}:${vhost.port}> (${at(vhost.source)})`;
  const mapping = mapRequest(vhost.routes, target);
  if (!mapping) return { ok: false, reason: `${request.url}: no ProxyPass of ${where} maps ${target.decodedPath}; Stickler answers it itself` };
  const route = mapping.route;
  if (mapping.kind === 'exclude') return { ok: false, reason: `${request.url}: ProxyPass ${route.path} ! (${at(route.source)}) excludes it from proxying` };
  if (isPlainUrl(mapping.balancer)) {
    return { ok: false, reason: `${request.url}: ProxyPass ${route.path} ${mapping.balancer} (${at(route.source)}) names a plain URL, not a balancer: every request goes there` };
  }
  const live = balancers.get(mapping.balancer);
  if (!live) return { ok: false, reason: `${request.url}: balancer://${mapping.balancer} is not running` };
  const dry = live.balancer.dryRun();
  const config = dry.config;
  const found = requestRoute(config, target.path + target.query, request.cookies);
  const decision = newDecision(config.name, found);
  recordChoice(decision, dry, dry.choose(found?.session, now), now);
  return {
    ok: true,
    explanation: {
      url: request.url,
      virtualHost: { name: vhost.serverName ?? vhost.host, port: vhost.port, at: at(vhost.source) },
      mapping: { path: route.path, target: `balancer://${mapping.balancer}${mapping.route.target.kind === 'balancer' ? mapping.route.target.path : ''}`, at: at(route.source) },
      decision,
      state,
    },
  };
}
