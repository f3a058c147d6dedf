// Showing a snapshot (a ManagerOverview, src/manager/model.ts): one view per balancer and member, kept as long as
// the server reports it and updated in place, so nothing on the page is rebuilt by an update.
import { refreshAudit } from './audit.js';
import { BalancerView } from './balancer-view.js';
import { el, setText } from './dom.js';
import { MemberView } from './member-view.js';

/** Balancer name → BalancerView, member key → MemberView; both live as long as the server reports them. */
const balancerViews = new Map();
const memberViews = new Map();
let configSignature;

const memberKey = (balancer, url) => `${balancer}\u0000${url}`;

/**
 * Shows a snapshot. `pushed` snapshots come from the event stream at a steady pace and feed the rates and
 * percentiles; the one an edit answers with only shows the change at once.
 */
export function applyOverview(overview, pushed) {
  const container = document.getElementById('balancers');
  container.querySelector('.placeholder')?.remove();
  const seenBalancers = new Set();
  const seenMembers = new Set();
  for (const balancer of overview.balancers) {
    seenBalancers.add(balancer.name);
    let view = balancerViews.get(balancer.name);
    if (!view) {
      view = new BalancerView(balancer.name);
      balancerViews.set(balancer.name, view);
    }
    if (view.node.parentNode !== container || container.children[seenBalancers.size - 1] !== view.node) container.append(view.node);
    const views = balancer.members.map((member) => {
      const key = memberKey(balancer.name, member.url);
      seenMembers.add(key);
      let memberView = memberViews.get(key);
      if (!memberView) {
        memberView = new MemberView(view, member.url);
        memberViews.set(key, memberView);
      }
      if (pushed) memberView.sample(member, overview.time, overview.latencyBucketsMs);
      return memberView;
    });
    view.chartMax = Math.max(1, ...views.flatMap((v) => v.chart.rates));
    const last = overview.time / 1000;
    view.chartSpan = [Math.min(last - 1, ...views.map((v) => v.chart.times[0] ?? last)), last];
    view.render(balancer, views);
    balancer.members.forEach((member, i) => views[i].render(member, overview.time, overview.sessionWindowMs));
  }
  for (const [key, view] of memberViews) {
    if (seenMembers.has(key)) continue;
    view.destroy();
    memberViews.delete(key);
  }
  for (const [name, view] of balancerViews) {
    if (seenBalancers.has(name)) continue;
    view.destroy();
    balancerViews.delete(name);
  }
  if (overview.balancers.length === 0) container.replaceChildren(el('p', { class: 'placeholder', text: 'No balancers are configured.' }));
  setText(document.getElementById('persistence'), overview.persisted ? 'Changes are saved and survive a restart.' : 'Changes survive reloads but not a restart (no state file).');
  const shared = document.getElementById('shared-state');
  const cutOff = overview.sharedState !== undefined && !overview.sharedState.connected;
  const lostAt = overview.sharedState?.lostAt;
  shared.hidden = !cutOff && lostAt === undefined;
  // The one thing an operator must know before trying an edit: this instance is not taking any.
  if (cutOff) setText(shared, `Shared state unreachable: instance ${overview.sharedState.instance} cannot reach Redis. It serves on its last state; edits are refused until Redis is back.`);
  // Until a restart: edits an instance had not read when Redis lost them are gone, and someone must check.
  else if (lostAt !== undefined) setText(shared, `Redis lost the shared state at ${new Date(lostAt).toLocaleString()} (FLUSHALL, or a restart without persistence). The instances kept theirs; edits not yet read everywhere may be lost: check the members on every instance.`);
  // A renewal that keeps failing, while the certificate served still works: the time to act is before it ends.
  const failing = (overview.certificates ?? []).filter((c) => c.acme?.failing);
  const certificates = document.getElementById('certificates');
  certificates.hidden = failing.length === 0;
  if (failing.length > 0) setText(certificates, failing.map((c) => `Certificate renewal keeps failing for ${c.acme.name} (${c.acme.failures === 1 ? '1 failed attempt' : `${c.acme.failures} failed attempts in a row`}: ${c.acme.lastError ?? 'no reason given'}); the certificate served on ${c.vhost} ends ${new Date(c.notAfter).toLocaleString()}.`).join(' '));
  setText(document.getElementById('updated'), `Updated ${new Date(overview.time).toLocaleTimeString()}`);
  // Someone else's change (another console, the Apache page, a script) shows in the audit log too.
  const signature = JSON.stringify(
    overview.balancers.map((b) => [b.name, b.lbmethod, b.stickySession, b.nofailover, b.timeoutMs, b.maxAttempts, b.members.map((m) => [m.url, m.route, m.redirect, m.loadfactor, m.lbset, m.status.drain, m.status.disabled, m.status.stopped, m.status.hotStandby, m.status.hotSpare, m.status.ignoreErrors])]),
  );
  if (configSignature !== undefined && signature !== configSignature) refreshAudit();
  configSignature = signature;
}
