// A read-only balancer-manager page, served where a `<Location>` sets `SetHandler balancer-manager`.
// It shows the same columns as Apache's page so operators find their way; editing comes with the manager console.
import type { Runtime } from './runtime.ts';
import { escapeHtml, htmlResponse, type LocalResponse } from './error-page.ts';

export function managerPage(runtime: Runtime, now: number): LocalResponse {
  const sections: string[] = [];
  for (const { config, balancer } of runtime.balancers.values()) {
    const sticky = config.sticky ? `${config.sticky.cookie} | ${config.sticky.urlParam}` : '(None)';
    const rows = balancer
      .snapshot(now)
      .map(
        (m) =>
          `<tr><td>${escapeHtml(m.url)}</td><td>${escapeHtml(m.route)}</td><td>${m.loadfactor.toFixed(2)}</td><td>${m.lbset}</td>` +
          `<td>${escapeHtml(m.status)}</td><td>${m.elected}</td><td>${m.busy}</td><td>${m.lbstatus}</td><td>${m.transferred}</td><td>${m.read}</td></tr>`,
      )
      .join('\n');
    sections.push(
      `<h3>LoadBalancer Status for balancer://${escapeHtml(config.name)}</h3>\n` +
        `<table><tr><th>StickySession</th><th>DisableFailover</th><th>Timeout</th><th>FailoverAttempts</th><th>Method</th></tr>\n` +
        `<tr><td>${escapeHtml(sticky)}</td><td>${config.nofailover ? 'On' : 'Off'}</td><td>${config.timeout / 1000}</td>` +
        `<td>${balancer.maxAttempts}</td><td>${config.lbmethod}</td></tr></table>\n` +
        `<table><tr><th>Worker URL</th><th>Route</th><th>Factor</th><th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th></tr>\n${rows}\n</table>`,
    );
  }
  const body =
    `<!DOCTYPE html>\n<html><head><title>Balancer Manager</title></head><body><h1>Load Balancer Manager</h1>\n` +
    `<p>Read-only view of Stickler's balancers.</p>\n${sections.join('\n<hr>\n')}\n</body></html>\n`;
  return htmlResponse(200, Buffer.from(body));
}
