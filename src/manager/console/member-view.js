// One member's row of a balancer's table and its editor row: built once, then updated in place by every snapshot
// (so an open form, the focus and the chart survive updates), with the buttons and form that send its edits.
import { RateChart } from './chart.js';
import { el, setText } from './dom.js';
import { submitEdit } from './edits.js';
import { histogramQuantile, rowTone, statusBadges } from './figures.js';
import { busyWhile, checkbox, field, inlineForm, setOpen } from './forms.js';
import { decimal, formatAgo, formatBytes, formatMs, formatRate, integer } from './format.js';
import { report } from './results.js';

/** The members table's columns; numeric ones are right-aligned, headers included. */
export const COLUMNS = [
  ['Member'], ['Status'], ['Load factor', 'num'], ['Set', 'num'], ['Elected', 'num'], ['Busy', 'num'], ['Req/s', 'num'], ['Bytes to\u00a0/\u00a0from', 'num'],
  ['Failures', 'num'], ['Latency, 1\u00a0min', 'num'], ['Last failure'], ['Sessions', 'num'], ['Req/s, 5 min'], ['Actions'],
];

export class MemberView {
  constructor(balancer, url) {
    this.balancer = balancer;
    this.url = url;
    /** The last pushed snapshot's time and request count, which the next one's rate is measured from. */
    this.previous = undefined;
    this.rate = undefined;
    this.minuteRate = undefined;
    this.p50 = null;
    this.p99 = null;
    this.member = undefined;
    this.build();
  }

  build() {
    /** A numeric cell of two labelled figures, one above the other. */
    const stacked = (label, ...figures) => el('td', { 'data-label': label, class: 'num' }, el('div', { class: 'stack' }, ...figures.map(([name, node]) => el('span', {}, el('span', { class: 'muted', text: name }), node))));
    const cell = (label, field) => el('td', { 'data-label': label, 'data-field': field });
    const num = (label, field) => el('td', { 'data-label': label, 'data-field': field, class: 'num' });
    this.routeText = el('span', { class: 'mono', 'data-field': 'route' });
    this.redirectText = el('span', { class: 'mono', 'data-field': 'redirect' });
    this.mismatchText = el('div', { class: 'sub route-mismatch', 'data-field': 'route-mismatch', role: 'status', hidden: true });
    this.statusCell = cell('Status', 'status');
    this.loadfactorCell = num('Load factor', 'loadfactor');
    this.lbsetCell = num('Set', 'lbset');
    this.electedCell = num('Elected', 'elected');
    this.busyCell = num('Busy', 'busy');
    this.rateText = el('span', { 'data-field': 'rps', title: 'since the previous update' });
    this.minuteRateText = el('span', { 'data-field': 'rps-minute', title: 'over the last minute' });
    this.bytesTo = el('span', { 'data-field': 'bytes-to', title: 'sent to the member' });
    this.bytesFrom = el('span', { 'data-field': 'bytes-from', title: 'received from the member' });
    this.failuresCell = num('Failures', 'failures');
    this.p50Text = el('span', { 'data-field': 'p50' });
    this.p99Text = el('span', { 'data-field': 'p99' });
    this.lastFailureCell = cell('Last failure', 'last-failure');
    this.sessionsCell = num('Sessions', 'sessions');
    this.chartCell = el('td', { 'data-label': 'Req/s, 5 min', class: 'chart-cell' });
    this.chart = new RateChart(this.chartCell, this.balancer);

    this.toggleButton = el('button', { type: 'button', class: 'btn small', 'data-action': 'toggle' });
    this.drainCount = el('span', { class: 'count' });
    this.drainButton = el('button', { type: 'button', class: 'btn small', 'data-action': 'drain' }, el('span', { text: 'Drain' }), this.drainCount);
    this.standbyButton = el('button', { type: 'button', class: 'btn small', 'data-action': 'standby', text: 'Standby' });
    this.editButton = el('button', { type: 'button', class: 'btn small', 'data-action': 'edit', 'aria-expanded': 'false', 'aria-label': `Edit ${this.url}`, text: 'Edit' });
    this.removeButton = el('button', { type: 'button', class: 'btn small danger-outline', 'data-action': 'remove', 'aria-label': `Remove ${this.url}`, text: 'Remove' });
    this.cancelRemove = el('button', { type: 'button', class: 'btn small', hidden: true, text: 'Keep' });
    this.toggleButton.addEventListener('click', busyWhile(this.toggleButton, () => this.change({ status: this.isOff() ? { disabled: false, stopped: false } : { disabled: true } })));
    this.drainButton.addEventListener('click', busyWhile(this.drainButton, () => this.change({ status: { drain: !this.member.status.drain } })));
    this.standbyButton.addEventListener('click', busyWhile(this.standbyButton, () => this.change({ status: { hotStandby: !this.member.status.hotStandby } })));
    this.editButton.addEventListener('click', () => this.openEditor(this.editRow.hidden));
    this.removeButton.addEventListener('click', busyWhile(this.removeButton, () => this.remove()));
    this.cancelRemove.addEventListener('click', () => this.armRemove(false));

    this.row = el(
      'tr',
      { class: 'member-row', 'data-member': this.url },
      el(
        'td',
        { 'data-label': 'Member', class: 'member-cell' },
        el('div', { class: 'mono url', 'data-field': 'url', text: this.url }),
        el('div', { class: 'sub' }, el('span', { class: 'muted', text: 'route ' }), this.routeText, el('span', { class: 'muted', text: ' · redirect ' }), this.redirectText),
        this.mismatchText,
      ),
      this.statusCell,
      this.loadfactorCell,
      this.lbsetCell,
      this.electedCell,
      this.busyCell,
      stacked('Req/s', ['now ', this.rateText], ['1 min ', this.minuteRateText]),
      el('td', { 'data-label': 'Bytes to / from', class: 'num' }, el('div', { class: 'stack' }, this.bytesTo, this.bytesFrom)),
      this.failuresCell,
      stacked('Latency, 1 min', ['p50 ', this.p50Text], ['p99 ', this.p99Text]),
      this.lastFailureCell,
      this.sessionsCell,
      this.chartCell,
      el('td', { 'data-label': 'Actions', class: 'actions' }, el('div', { class: 'action-group' }, this.toggleButton, this.drainButton, this.standbyButton, this.editButton, this.removeButton, this.cancelRemove)),
    );
    this.buildEditor();
  }

  buildEditor() {
    const input = (name, attrs) => el('input', { name, ...attrs });
    this.form = inlineForm(
      `Change ${this.url}`,
      [
        field('Load factor', input('loadfactor', { type: 'number', min: 1, max: 100, step: 'any', required: true })),
        field('Load balancer set', input('lbset', { type: 'number', min: 0, max: 99, step: 1, required: true })),
        field('Route', input('route', { type: 'text', maxlength: 63, autocomplete: 'off', spellcheck: 'false' })),
        field('Redirect', input('redirect', { type: 'text', maxlength: 63, autocomplete: 'off', spellcheck: 'false', placeholder: 'none', title: 'Route of the member its sessions go to instead' })),
        el('fieldset', { class: 'checks' }, el('legend', { text: 'Switches' }), checkbox('Ignore errors', 'ignoreErrors'), checkbox('Stopped', 'stopped'), checkbox('Hot spare', 'hotSpare')),
      ],
      'Apply',
      () => this.saveEditor(),
      () => this.openEditor(false),
    );
    this.editRow = el('tr', { class: 'edit-row', hidden: true }, el('td', { colspan: COLUMNS.length }, this.form));
  }

  isOff() {
    return this.member.status.disabled || this.member.status.stopped;
  }

  openEditor(open) {
    if (open) {
      const m = this.member;
      const f = this.form.elements;
      f.loadfactor.value = String(m.loadfactor);
      f.lbset.value = String(m.lbset);
      f.route.value = m.route;
      f.redirect.value = m.redirect;
      for (const name of ['ignoreErrors', 'stopped', 'hotSpare']) f[name].checked = m.status[name];
    }
    setOpen(this.editRow, this.editButton, open);
    if (open) this.form.elements.loadfactor.focus();
  }

  async saveEditor() {
    const m = this.member;
    const f = this.form.elements;
    const change = {};
    const loadfactor = Number(f.loadfactor.value);
    const lbset = Number(f.lbset.value);
    if (loadfactor !== m.loadfactor) change.loadfactor = loadfactor;
    if (lbset !== m.lbset) change.lbset = lbset;
    if (f.route.value !== m.route) change.route = f.route.value;
    if (f.redirect.value !== m.redirect) change.redirect = f.redirect.value;
    const status = {};
    for (const name of ['ignoreErrors', 'stopped', 'hotSpare']) if (f[name].checked !== m.status[name]) status[name] = f[name].checked;
    if (Object.keys(status).length) change.status = status;
    if (Object.keys(change).length === 0) {
      report(true, `${this.balancer.name} · ${this.url}`, 'nothing to change');
      this.openEditor(false);
      return;
    }
    if (await this.change(change)) this.openEditor(false);
  }

  change(change) {
    return submitEdit({ kind: 'member', balancer: this.balancer.name, member: this.url, change });
  }

  /** Remove asks twice: the first click arms the button, the second (within a few seconds) removes. */
  async remove() {
    if (!this.removeArmed) {
      this.armRemove(true);
      return;
    }
    this.armRemove(false);
    await submitEdit({ kind: 'remove-member', balancer: this.balancer.name, member: this.url });
  }

  armRemove(armed) {
    clearTimeout(this.disarmTimer);
    this.removeArmed = armed;
    setText(this.removeButton, armed ? 'Confirm remove' : 'Remove');
    this.removeButton.classList.toggle('danger', armed);
    this.removeButton.setAttribute('aria-label', armed ? `Confirm: remove ${this.url} from ${this.balancer.name}` : `Remove ${this.url}`);
    this.cancelRemove.hidden = !armed;
    if (armed) this.disarmTimer = setTimeout(() => this.armRemove(false), 6_000);
  }

  /**
   * Takes a pushed snapshot: the rate now is the one since the previous snapshot (the chart's newest point); the
   * last minute's rate and the percentiles are the server's, so traffic that came before the page opened shows at
   * once, and every console shows the same figures whichever worker thread answers it.
   */
  sample(member, time, bounds) {
    const previous = this.previous;
    // Counters only grow; a drop means the server started again, and a difference would be meaningless.
    if (previous && time > previous.time && member.requests >= previous.requests) {
      this.rate = ((member.requests - previous.requests) * 1000) / (time - previous.time);
      this.chart.add(time, this.rate);
    } else this.rate = undefined;
    this.previous = { time, requests: member.requests };
    const minute = member.lastMinute;
    this.minuteRate = time > minute.fromMs ? (minute.requests * 1000) / (time - minute.fromMs) : undefined;
    this.p50 = histogramQuantile(0.5, bounds, minute.latency.buckets);
    this.p99 = histogramQuantile(0.99, bounds, minute.latency.buckets);
  }

  render(member, now, sessionWindowMs) {
    this.member = member;
    const s = member.status;
    setText(this.routeText, member.route === '' ? '—' : member.route);
    this.routeText.classList.toggle('muted', member.route === '');
    setText(this.redirectText, member.redirect === '' ? '—' : member.redirect);
    this.redirectText.classList.toggle('muted', member.redirect === '');
    this.renderMismatch(member);

    const badges = statusBadges(member);
    const key = badges.map(([label]) => label).join('|');
    if (this.statusCell.dataset.badges !== key) {
      this.statusCell.dataset.badges = key;
      this.statusCell.replaceChildren(...badges.map(([label, tone]) => el('span', { class: `badge badge-${tone}`, text: label })));
    }
    this.statusCell.setAttribute('title', `Apache status: ${member.statusLabel.trim()}${member.errorSince ? `, in error since ${new Date(member.errorSince).toLocaleTimeString()}` : ''}`);
    this.row.dataset.tone = rowTone(badges);

    setText(this.loadfactorCell, decimal.format(member.loadfactor));
    setText(this.lbsetCell, String(member.lbset));
    setText(this.electedCell, integer.format(member.elected));
    setText(this.busyCell, integer.format(member.busy));
    setText(this.rateText, formatRate(this.rate));
    setText(this.minuteRateText, formatRate(this.minuteRate));
    setText(this.bytesTo, `→ ${formatBytes(member.bytesToMember)}`);
    setText(this.bytesFrom, `← ${formatBytes(member.bytesFromMember)}`);
    setText(this.failuresCell, integer.format(member.failures));
    this.failuresCell.classList.toggle('alert', member.failures > 0);
    setText(this.p50Text, formatMs(this.p50));
    setText(this.p99Text, formatMs(this.p99));
    setText(this.lastFailureCell, member.lastFailure === null ? 'never' : formatAgo(now - member.lastFailure));
    if (member.lastFailure !== null) this.lastFailureCell.setAttribute('title', new Date(member.lastFailure).toLocaleString());
    else this.lastFailureCell.removeAttribute('title');
    // Draining: what is left, so the operator sees when it is empty (stop-when-idle stops it then).
    const drain = member.drainSessions;
    setText(this.sessionsCell, drain ? `${integer.format(drain.active)} active${drain.lastRequestAt === null ? '' : `, last ${formatAgo(now - drain.lastRequestAt)}`}` : integer.format(member.stickySessions));
    if (drain) this.sessionsCell.setAttribute('title', drain.sessions.slice(0, 20).map((x) => `session ${x.hash}: last request ${formatAgo(now - x.lastRequestAt)}`).join('\n') || 'no active session');
    else this.sessionsCell.removeAttribute('title');

    const off = this.isOff();
    setText(this.toggleButton, off ? 'Enable' : 'Disable');
    this.toggleButton.setAttribute('aria-label', `${off ? 'Enable' : 'Disable'} ${this.url}`);
    // Drain and standby are toggles: a stable name, the state in aria-pressed (and the pressed look).
    setText(this.drainCount, integer.format(drain ? drain.active : member.stickySessions));
    this.drainButton.setAttribute('aria-pressed', String(s.drain));
    this.drainButton.setAttribute('aria-label', `Drain ${this.url} (${member.stickySessions} sticky sessions)`);
    this.drainButton.setAttribute('title', `${s.drain ? 'Draining: no new sessions. Click to take new sessions again.' : 'Take no new sessions; the sticky ones are still served.'} ${member.stickySessions} sessions used it in the last ${Math.round(sessionWindowMs / 60_000)} min.`);
    this.standbyButton.setAttribute('aria-pressed', String(s.hotStandby));
    this.standbyButton.setAttribute('aria-label', `Hot standby for ${this.url}`);
    this.standbyButton.setAttribute('title', s.hotStandby ? 'Hot standby: used only when no other member can be. Click to make it a regular member.' : 'Use only when no other member of its set can be');
    this.chart.draw();
  }

  /** The member issues sessions whose route is not its own: they do not come back to it (server-side route setting). */
  renderMismatch(member) {
    const mismatch = member.routeMismatch;
    this.mismatchText.hidden = !mismatch?.flagged;
    if (!mismatch?.flagged) return;
    const issues = mismatch.lastSeen === null ? 'another route' : mismatch.lastSeen === '' ? 'no route' : mismatch.lastSeen;
    setText(this.mismatchText, `route mismatch: issues ${issues}, configured ${member.route}`);
    const counts = mismatch.counts.map(({ seen, count }) => `${seen === '' ? '(none)' : seen}: ${integer.format(count)}`);
    if (mismatch.other > 0) counts.push(`other: ${integer.format(mismatch.other)}`);
    this.mismatchText.setAttribute('title', `Sessions issued with a wrong route, last ${new Date(mismatch.lastAt).toLocaleString()}: ${counts.join(', ')}. Set the member's route on the server (Tomcat: jvmRoute on the <Engine>).`);
  }

  destroy() {
    this.chart.destroy();
    clearTimeout(this.disarmTimer);
    this.row.remove();
    this.editRow.remove();
  }
}
