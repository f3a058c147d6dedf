// The watch on the routes members issue: each final response head of a member is looked at for a session cookie
// (the balancer's stickysession names); its route is counted in the shared state, and a wrong one is told on stderr,
// once per member and WARN_EVERY_S whatever the thread, with the setting that fixes it on the usual servers.
import type { HeaderList } from '../http/head.ts';
import { getHeaders } from '../http/head.ts';
import { issuedRoute } from '../sticky/route-mismatch.ts';
import type { Balancer } from './balancer.ts';
import { sessionSeconds } from './state.ts';

/** A misconfigured member issues every new session wrong: one line per member every 10 minutes is enough to act on. */
export const WARN_EVERY_S = 10 * 60;

const stderrLine = (line: string): void => void process.stderr.write(`stickler: ${line}\n`);

/** The warning about member `url` of `balancer` issuing `seen` (null: no route) when configured with `route`. */
export function mismatchLine(balancer: string, url: string, route: string, seen: string | null): string {
  const issues = seen === null ? 'issues sessions without a route' : `issues sessions with route ${seen}`;
  return `warning: ${balancer}: member ${url} ${issues} but is configured with route=${route}, so its sessions do not ` +
    `stick to it (each of their requests is balanced anew). Give the member route ${route}: Tomcat: jvmRoute="${route}" on ` +
    `the <Engine> in server.xml; WSO2 Identity Server: the node's route in deployment.toml; Keycloak: its route ` +
    `(sticky-session) settings. (told at most every ${WARN_EVERY_S / 60} minutes)`;
}

/**
 * Member m of `balancer` answered with `headers` at `now` (ms). Costs a scan of the header names unless the member
 * has a route to check and the response sets a cookie.
 */
export function watchIssuedRoute(balancer: Balancer, m: number, headers: HeaderList, now: number,
                                 log: (line: string) => void = stderrLine): void {
  const { config, state } = balancer;
  const member = config.members[m];
  if (config.sticky === undefined || member === undefined || member.route === '') return;
  const setCookies = getHeaders(headers, 'set-cookie');
  if (setCookies.length === 0) return;
  const issued = issuedRoute(setCookies, [config.sticky.cookie, config.sticky.urlParam], config.stickySeparator, member.route,
    config.cookie !== undefined);
  if (issued === undefined) return;
  const seconds = sessionSeconds(now);
  state.countIssuedRoute(m, issued, seconds);
  if (!issued.matches && state.claimRouteWarning(m, seconds, WARN_EVERY_S)) {
    log(mismatchLine(`balancer://${config.name}`, member.url, member.route, issued.seen));
  }
}
