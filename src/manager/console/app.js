// Stickler's live console. The server pushes a ManagerOverview (src/manager/model.ts) every second over
// server-sent events; this page keeps one DOM row per member and updates it in place, so an open form, the focus
// and the charts survive every update. The rate now (and the chart) is the difference between two snapshots of the
// server's cumulative counters; the last minute's rate and latency percentiles are the server's own last minute, there
// from the first snapshot. Server values reach the page only as text nodes, attribute values and input
// values: a route may be any 63 characters, markup included. No innerHTML anywhere, no inline style (CSP).
'use strict';

const BASE = metaContent('manager-base');
const CSRF = metaContent('csrf-token');
/** The chart shows requests/s over this much time. */
const CHART_WINDOW_MS = 5 * 60_000;
/** Events come every second; this long without one means the stream is stuck even if the socket is open. */
const STALE_AFTER_MS = 3_500;
const RECONNECT_MS = 3_000;
const RESULTS_KEPT = 3;
const AUDIT_SHOWN = 50;

const SWITCH_NAMES = { I: 'ignore errors', N: 'drain', D: 'disabled', S: 'stopped', H: 'standby', R: 'spare' };
// The server's list (config/model.ts LB_METHODS), so a method added there is offered here too.
const LBMETHODS = metaContent('lbmethods').split(' ');
/** The members table's columns; numeric ones are right-aligned, headers included. */
const COLUMNS = [
  ['Member'], ['Status'], ['Load factor', 'num'], ['Set', 'num'], ['Elected', 'num'], ['Busy', 'num'], ['Req/s', 'num'], ['Bytes to\u00a0/\u00a0from', 'num'],
  ['Failures', 'num'], ['Latency, 1\u00a0min', 'num'], ['Last failure'], ['Sessions', 'num'], ['Req/s, 5 min'], ['Actions'],
];

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** Balancer name → BalancerView, member key → MemberView; both live as long as the server reports them. */
const balancerViews = new Map();
const memberViews = new Map();
let lastEventAt = 0;
let connection = 'connecting';
let configSignature;
let auditLoading;
let auditAgain = false;

function metaContent(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

/**
 * A new element. `text` becomes its text node, `on` its listeners, `class` its class list; every other key is an
 * attribute set with setAttribute, never parsed as markup.
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'on') for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// ---- formatting ------------------------------------------------------------------------------------------------

function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? integer.format(value) : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatRate(perSecond) {
  if (perSecond === undefined) return '–';
  return perSecond < 10 ? (Math.round(perSecond * 10) / 10).toString() : integer.format(perSecond);
}

function formatMs(ms) {
  if (ms === null) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${ms < 10 ? ms.toFixed(1) : integer.format(ms)} ms`;
}

function formatAgo(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

function formatTimeout(ms) {
  return ms === 0 ? 'none' : `${decimal.format(ms / 1000)} s`;
}

/** A value of the audit log or an edit answer, for people: status letters as words, strings quoted. */
function formatFact(key, value) {
  if (key === 'status' && typeof value === 'string') {
    return value === '' ? 'active' : [...value].map((letter) => SWITCH_NAMES[letter] ?? letter).join(' + ');
  }
  if (key === 'timeoutMs' && typeof value === 'number') return formatTimeout(value);
  return JSON.stringify(value);
}

/** What changed between two fact records (memberFacts / balancerFacts), as `key: before → after` lines. */
function differences(before, after) {
  if ((before === null || before === undefined) && after) return [`added (${describeFacts(after)})`];
  if (after === null || after === undefined) return ['removed'];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changed = [];
  for (const key of keys) {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    changed.push(`${key}: ${formatFact(key, before[key])} → ${formatFact(key, after[key])}`);
  }
  return changed.length ? changed : ['no change'];
}

function describeFacts(facts) {
  return Object.entries(facts)
    .filter(([key]) => key !== 'url')
    .map(([key, value]) => `${key} ${formatFact(key, value)}`)
    .join(', ');
}

function describeEdit(edit) {
  switch (edit.kind) {
    case 'member':
      return `${edit.balancer} · ${edit.member}`;
    case 'add-member':
      return `${edit.balancer} · add ${edit.url}`;
    case 'remove-member':
      return `${edit.balancer} · remove ${edit.member}`;
    default:
      return `${edit.balancer} · settings`;
  }
}

// ---- derived figures -------------------------------------------------------------------------------------------

/**
 * The q-quantile of a histogram as Prometheus' histogram_quantile computes it: find the bucket holding the rank,
 * interpolate linearly inside it (the first bucket starts at 0); a rank in the overflow bucket answers the
 * largest finite bound. `counts` has one more entry than `bounds`.
 */
function histogramQuantile(q, bounds, counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i];
    if (below + count >= rank && count > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return bounds[bounds.length - 1];
}

function statusBadges(member) {
  const s = member.status;
  const badges = [];
  if (s.error) badges.push(['error', 'bad']);
  if (s.healthCheckFailed) badges.push(['health check failed', 'bad']);
  if (s.stopped) badges.push(['stopped', 'bad']);
  if (s.disabled) badges.push(['disabled', 'off']);
  if (s.drain) badges.push(['draining', 'warn']);
  if (s.hotStandby) badges.push(['standby', 'info']);
  if (s.hotSpare) badges.push(['spare', 'info']);
  if (member.usable && badges.length === 0) badges.push(['OK', 'ok']);
  else if (!member.usable && !badges.some(([, tone]) => tone === 'bad' || tone === 'off')) badges.push(['unusable', 'bad']);
  if (s.ignoreErrors) badges.push(['ignores errors', 'muted']);
  return badges;
}

/** The row's overall tone: the worst of its badges. */
function rowTone(badges) {
  for (const tone of ['bad', 'off', 'warn', 'info']) if (badges.some(([, t]) => t === tone)) return tone;
  return 'ok';
}

// ---- results and audit -----------------------------------------------------------------------------------------

function report(ok, title, detail) {
  const list = document.getElementById('results');
  const item = el(
    'li',
    { class: `result ${ok ? 'result-ok' : 'result-error'}` },
    el('span', { class: 'result-icon', 'aria-hidden': 'true', text: ok ? '✓' : '!' }),
    el('span', { class: 'result-time', text: new Date().toLocaleTimeString() }),
    el('span', { class: 'result-title', text: title }),
    el('span', { class: 'result-detail', text: detail }),
    el('button', { type: 'button', class: 'result-close', 'aria-label': 'Dismiss', text: '×', on: { click: () => item.remove() } }),
  );
  list.prepend(item);
  while (list.children.length > RESULTS_KEPT) list.lastElementChild.remove();
}

/** POSTs one Edit; shows before → after or the server's reason. Resolves to the answer, or undefined on failure. */
async function submitEdit(edit) {
  const title = describeEdit(edit);
  let response;
  try {
    response = await fetch(`${BASE}/api/v1/edits`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': CSRF },
      body: JSON.stringify(edit),
    });
  } catch (err) {
    report(false, title, `the manager did not answer: ${err.message}`);
    return undefined;
  }
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok || !body || typeof body.error === 'string') {
    report(false, title, `${body?.error ?? 'no explanation in the answer'} (HTTP ${response.status})`);
    return undefined;
  }
  report(true, title, differences(body.before, body.after).join('; '));
  if (body.overview) applyOverview(body.overview, false);
  refreshAudit();
  return body;
}

/** Wraps a click or submit handler: the control is disabled while its edit is on the way. */
function busyWhile(control, task) {
  return async (event) => {
    event?.preventDefault();
    if (control.disabled) return;
    control.disabled = true;
    try {
      await task();
    } finally {
      control.disabled = false;
    }
  };
}

/** Reads the audit log again; asked while a read is on its way, it reads once more after it (the change may be newer). */
function refreshAudit() {
  if (auditLoading) {
    auditAgain = true;
    return auditLoading;
  }
  auditLoading = (async () => {
    do {
      auditAgain = false;
      try {
        const response = await fetch(`${BASE}/api/v1/audit`, { credentials: 'same-origin' });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const { entries } = await response.json();
        renderAudit(Array.isArray(entries) ? entries : []);
      } catch (err) {
        setText(document.getElementById('audit-empty'), `The audit log could not be read: ${err.message}`);
        document.getElementById('audit-empty').hidden = false;
      }
    } while (auditAgain);
    auditLoading = undefined;
  })();
  return auditLoading;
}

function renderAudit(entries) {
  const rows = document.getElementById('audit-rows');
  const shown = entries.slice(-AUDIT_SHOWN).reverse();
  rows.replaceChildren(
    ...shown.map((entry) => {
      const when = new Date(entry.time);
      return el(
        'tr',
        {},
        el('td', { 'data-label': 'When' }, el('time', { datetime: entry.time, title: when.toLocaleString(), text: when.toLocaleTimeString() })),
        el('td', { 'data-label': 'Who', text: `${entry.user === '-' ? 'anonymous' : entry.user} (${entry.ip})` }),
        el('td', { 'data-label': 'What', class: 'mono', text: describeEdit(entry.edit) }),
        el('td', { 'data-label': 'Change', text: differences(entry.before, entry.after).join('; ') }),
      );
    }),
  );
  document.getElementById('audit-table').hidden = shown.length === 0;
  setText(document.getElementById('audit-empty'), 'No changes yet.');
  document.getElementById('audit-empty').hidden = shown.length > 0;
}

// ---- forms -----------------------------------------------------------------------------------------------------

function field(label, input) {
  return el('label', { class: 'field' }, el('span', { class: 'field-label', text: label }), input);
}

function checkbox(label, name) {
  return el('label', { class: 'check' }, el('input', { type: 'checkbox', name }), el('span', { text: label }));
}

/** An inline form: Cancel and Escape close it, submitting runs `save` with the submit button disabled meanwhile. */
function inlineForm(label, fields, submitLabel, save, close) {
  const submit = el('button', { type: 'submit', class: 'btn primary', text: submitLabel });
  const form = el(
    'form',
    { class: 'inline-form', 'aria-label': label },
    ...fields,
    el('div', { class: 'form-buttons' }, submit, el('button', { type: 'button', class: 'btn', text: 'Cancel', on: { click: close } })),
  );
  form.addEventListener('submit', busyWhile(submit, save));
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  return form;
}

/** Shows or hides a panel opened by `toggle`, keeping aria-expanded in step; focus inside goes back to `toggle`. */
function setOpen(panel, toggle, open) {
  if (!open && panel.contains(document.activeElement)) toggle.focus();
  panel.hidden = !open;
  toggle.setAttribute('aria-expanded', String(open));
}

// ---- a member --------------------------------------------------------------------------------------------------

class MemberView {
  constructor(balancer, url) {
    this.balancer = balancer;
    this.url = url;
    /** The last pushed snapshot's time and request count, which the next one's rate is measured from. */
    this.previous = undefined;
    /** The chart's series: seconds since the epoch, requests/s between consecutive snapshots. */
    this.times = [];
    this.rates = [];
    this.rate = undefined;
    this.minuteRate = undefined;
    this.p50 = null;
    this.p99 = null;
    this.member = undefined;
    this.chart = undefined;
    this.build();
  }

  build() {
    /** A numeric cell of two labelled figures, one above the other. */
    const stacked = (label, ...figures) => el('td', { 'data-label': label, class: 'num' }, el('div', { class: 'stack' }, ...figures.map(([name, node]) => el('span', {}, el('span', { class: 'muted', text: name }), node))));
    const cell = (label, field) => el('td', { 'data-label': label, 'data-field': field });
    const num = (label, field) => el('td', { 'data-label': label, 'data-field': field, class: 'num' });
    this.routeText = el('span', { class: 'mono', 'data-field': 'route' });
    this.redirectText = el('span', { class: 'mono', 'data-field': 'redirect' });
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
      this.times.push(time / 1000);
      this.rates.push(this.rate);
      while (this.times.length && this.times[0] < (time - CHART_WINDOW_MS) / 1000) {
        this.times.shift();
        this.rates.shift();
      }
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
    setText(this.sessionsCell, integer.format(member.stickySessions));

    const off = this.isOff();
    setText(this.toggleButton, off ? 'Enable' : 'Disable');
    this.toggleButton.setAttribute('aria-label', `${off ? 'Enable' : 'Disable'} ${this.url}`);
    // Drain and standby are toggles: a stable name, the state in aria-pressed (and the pressed look).
    setText(this.drainCount, integer.format(member.stickySessions));
    this.drainButton.setAttribute('aria-pressed', String(s.drain));
    this.drainButton.setAttribute('aria-label', `Drain ${this.url} (${member.stickySessions} sticky sessions)`);
    this.drainButton.setAttribute('title', `${s.drain ? 'Draining: no new sessions. Click to take new sessions again.' : 'Take no new sessions; the sticky ones are still served.'} ${member.stickySessions} sessions used it in the last ${Math.round(sessionWindowMs / 60_000)} min.`);
    this.standbyButton.setAttribute('aria-pressed', String(s.hotStandby));
    this.standbyButton.setAttribute('aria-label', `Hot standby for ${this.url}`);
    this.standbyButton.setAttribute('title', s.hotStandby ? 'Hot standby: used only when no other member can be. Click to make it a regular member.' : 'Use only when no other member of its set can be');
    this.drawChart();
  }

  drawChart() {
    if (typeof uPlot !== 'function') return;
    const data = [this.times, this.rates];
    if (this.chart) {
      this.chart.setData(data);
      return;
    }
    if (!this.row.isConnected) return;
    const style = getComputedStyle(document.documentElement);
    const stroke = style.getPropertyValue('--chart-line').trim() || '#2563eb';
    const fill = style.getPropertyValue('--chart-fill').trim() || 'rgba(37, 99, 235, 0.15)';
    this.chart = new uPlot(
      {
        width: 116,
        height: 34,
        padding: [3, 1, 1, 1],
        legend: { show: false },
        cursor: { show: false },
        select: { show: false },
        axes: [{ show: false }, { show: false }],
        // Every member of a balancer is drawn on the same scales, so the charts compare at a glance.
        scales: { x: { time: true, range: () => this.balancer.chartSpan }, y: { range: () => [0, this.balancer.chartMax * 1.15] } },
        series: [{}, { stroke, fill, width: 1.5, points: { show: false } }],
      },
      data,
      this.chartCell,
    );
    this.chartCell.setAttribute('title', 'Requests per second over the last 5 minutes');
  }

  destroy() {
    this.chart?.destroy();
    clearTimeout(this.disarmTimer);
    this.row.remove();
    this.editRow.remove();
  }
}

// ---- a balancer ------------------------------------------------------------------------------------------------

class BalancerView {
  constructor(name) {
    this.name = name;
    /** The scales every member's chart shares: requests/s from 0 to the highest, and the time they cover. */
    this.chartMax = 1;
    this.chartSpan = [0, 1];
    this.members = [];
    this.build();
  }

  build() {
    const fact = (label) => {
      const value = el('dd', {});
      return { node: el('div', { class: 'fact' }, el('dt', { text: label }), value), value };
    };
    this.facts = { lbmethod: fact('Method'), sticky: fact('Sticky session'), failover: fact('Failover'), timeout: fact('Timeout'), attempts: fact('Max attempts'), usable: fact('Usable'), rate: fact('Req/s, 1 min') };
    this.settingsButton = el('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', text: 'Settings' });
    this.addButton = el('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', text: 'Add member' });
    this.settingsButton.addEventListener('click', () => this.openSettings(this.settingsPanel.hidden));
    this.addButton.addEventListener('click', () => this.openAdd(this.addPanel.hidden));
    this.buildSettings();
    this.buildAdd();
    this.buildSearch();
    this.tbody = el('tbody', {});
    const title = el('h2', { class: 'mono' }, el('span', { class: 'muted', text: 'balancer://' }), el('span', { text: this.name }));
    this.node = el(
      'section',
      { class: 'card balancer', 'data-balancer': this.name, 'aria-label': `balancer://${this.name}` },
      el('div', { class: 'card-head' }, title, el('div', { class: 'card-actions' }, this.settingsButton, this.addButton)),
      el('dl', { class: 'facts' }, ...Object.values(this.facts).map((f) => f.node)),
      this.searchForm,
      this.settingsPanel,
      this.addPanel,
      el(
        'div',
        { class: 'table-wrap' },
        el(
          'table',
          { class: 'members' },
          el('caption', { class: 'visually-hidden', text: `Members of balancer://${this.name}` }),
          el('thead', {}, el('tr', {}, ...COLUMNS.map(([label, align]) => el('th', { scope: 'col', class: align, text: label })))),
          this.tbody,
        ),
      ),
    );
  }

  buildSettings() {
    const select = el('select', { name: 'lbmethod' }, ...LBMETHODS.map((m) => el('option', { value: m, text: m })));
    this.settingsForm = inlineForm(
      `Settings of balancer://${this.name}`,
      [
        field('Method', select),
        field('Sticky session', el('input', { name: 'stickySession', type: 'text', placeholder: 'not sticky', autocomplete: 'off', spellcheck: 'false', title: 'COOKIE or COOKIE|urlparam; empty: not sticky' })),
        field('Timeout (s)', el('input', { name: 'timeout', type: 'number', min: 0, max: 7200, step: 'any', required: true, title: 'How long to wait for a free member; 0: no wait' })),
        field('Max attempts', el('input', { name: 'maxAttempts', type: 'number', min: 0, max: 99, step: 1, required: true })),
        el('fieldset', { class: 'checks' }, el('legend', { text: 'Failover' }), checkbox('No failover', 'nofailover')),
      ],
      'Apply',
      () => this.saveSettings(),
      () => this.openSettings(false),
    );
    this.settingsPanel = el('div', { class: 'panel', hidden: true }, el('h3', { text: 'Balancer settings' }), this.settingsForm);
  }

  buildAdd() {
    this.addForm = inlineForm(
      `Add a member to balancer://${this.name}`,
      [
        field('URL', el('input', { name: 'url', type: 'url', required: true, placeholder: 'https://10.0.0.5:9443', autocomplete: 'off', spellcheck: 'false', class: 'wide' })),
        field('Route', el('input', { name: 'route', type: 'text', maxlength: 63, autocomplete: 'off', spellcheck: 'false' })),
        field('Load factor', el('input', { name: 'loadfactor', type: 'number', min: 1, max: 100, step: 'any', value: '1', required: true })),
        el('fieldset', { class: 'checks' }, el('legend', { text: 'Start' }), checkbox('Enabled at once (else disabled)', 'enabled')),
      ],
      'Add',
      () => this.saveAdd(),
      () => this.openAdd(false),
    );
    this.addPanel = el('div', { class: 'panel', hidden: true }, el('h3', { text: 'Add a member' }), this.addForm);
  }

  /** The session search: a session id (or a bare route) in, the member it routes to and why out, its row marked. */
  buildSearch() {
    const input = el('input', { name: 'session', type: 'search', maxlength: 256, placeholder: 'ABC123.node2 or node2', autocomplete: 'off', spellcheck: 'false', class: 'wide', title: 'A JSESSIONID value, or a bare route' });
    const submit = el('button', { type: 'submit', class: 'btn', text: 'Find member' });
    this.searchResult = el('p', { class: 'search-result', 'data-field': 'route-result', role: 'status', hidden: true });
    this.searchForm = el(
      'form',
      { class: 'inline-form search', role: 'search', 'aria-label': `Find the member of a session in balancer://${this.name}` },
      field('Session id', input),
      submit,
      this.searchResult,
    );
    this.searchForm.addEventListener('submit', busyWhile(submit, () => this.search(input.value.trim())));
  }

  async search(session) {
    this.markFound(undefined);
    if (session === '') return;
    let status = 0;
    let body;
    try {
      const response = await fetch(`${BASE}/api/v1/route`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ balancer: this.name, session }),
      });
      status = response.status;
      body = await response.json();
    } catch (err) {
      body = { error: `the manager did not answer: ${err.message}` };
    }
    const failed = typeof body?.error === 'string' || status !== 200;
    this.searchResult.hidden = false;
    this.searchResult.classList.toggle('alert', failed);
    setText(this.searchResult, failed ? `${body?.error ?? 'no explanation in the answer'}${status ? ` (HTTP ${status})` : ''}` : `Route ${body.route}: ${body.explanation}.`);
    if (!failed) this.markFound(body.member ?? undefined);
  }

  /** Marks the row of the member a search found, and only it. */
  markFound(url) {
    for (const view of this.members) view.row.classList.toggle('found', view.url === url);
  }

  openSettings(open) {
    if (open) {
      const b = this.balancer;
      const f = this.settingsForm.elements;
      f.lbmethod.value = b.lbmethod;
      f.stickySession.value = b.stickySession ?? '';
      f.timeout.value = String(b.timeoutMs / 1000);
      f.maxAttempts.value = String(b.maxAttempts);
      f.nofailover.checked = b.nofailover;
    }
    setOpen(this.settingsPanel, this.settingsButton, open);
    if (open) this.settingsForm.elements.lbmethod.focus();
  }

  openAdd(open) {
    if (open) this.addForm.reset();
    setOpen(this.addPanel, this.addButton, open);
    if (open) this.addForm.elements.url.focus();
  }

  async saveSettings() {
    const b = this.balancer;
    const f = this.settingsForm.elements;
    const change = {};
    const sticky = f.stickySession.value.trim() === '' ? null : f.stickySession.value.trim();
    const timeoutMs = Math.round(Number(f.timeout.value) * 1000);
    if (f.lbmethod.value !== b.lbmethod) change.lbmethod = f.lbmethod.value;
    if (sticky !== b.stickySession) change.stickySession = sticky;
    if (timeoutMs !== b.timeoutMs) change.timeoutMs = timeoutMs;
    if (Number(f.maxAttempts.value) !== b.maxAttempts) change.maxAttempts = Number(f.maxAttempts.value);
    if (f.nofailover.checked !== b.nofailover) change.nofailover = f.nofailover.checked;
    if (Object.keys(change).length === 0) {
      report(true, `${this.name} · settings`, 'nothing to change');
      this.openSettings(false);
      return;
    }
    if (await submitEdit({ kind: 'balancer', balancer: this.name, change })) this.openSettings(false);
  }

  async saveAdd() {
    const f = this.addForm.elements;
    const change = { loadfactor: Number(f.loadfactor.value) };
    if (f.route.value !== '') change.route = f.route.value;
    if (f.enabled.checked) change.status = { disabled: false };
    if (await submitEdit({ kind: 'add-member', balancer: this.name, url: f.url.value.trim(), change })) this.openAdd(false);
  }

  render(balancer, members) {
    this.balancer = balancer;
    setText(this.facts.lbmethod.value, balancer.lbmethod);
    setText(this.facts.sticky.value, balancer.stickySession ?? 'off');
    setText(this.facts.failover.value, balancer.nofailover ? 'off (nofailover)' : 'on');
    setText(this.facts.timeout.value, formatTimeout(balancer.timeoutMs));
    setText(this.facts.attempts.value, String(balancer.maxAttempts));
    const usable = balancer.members.filter((m) => m.usable && !m.status.drain).length;
    setText(this.facts.usable.value, `${usable} of ${balancer.members.length}`);
    this.facts.usable.node.classList.toggle('alert', usable === 0);
    const total = members.reduce((sum, view) => sum + (view.minuteRate ?? 0), 0);
    setText(this.facts.rate.value, formatRate(total));
    // Rows follow the server's order; they move only when that order changes, so nothing is rebuilt.
    const order = members.flatMap((view) => [view.row, view.editRow]);
    if (order.some((row, i) => this.tbody.children[i] !== row)) this.tbody.append(...order);
    this.members = members;
  }

  destroy() {
    for (const view of this.members) view.destroy();
    this.node.remove();
  }
}

// ---- snapshots -------------------------------------------------------------------------------------------------

const memberKey = (balancer, url) => `${balancer}\u0000${url}`;

/**
 * Shows a snapshot. `pushed` snapshots come from the event stream at a steady pace and feed the rates and
 * percentiles; the one an edit answers with only shows the change at once.
 */
function applyOverview(overview, pushed) {
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
    view.chartMax = Math.max(1, ...views.flatMap((v) => v.rates));
    const last = overview.time / 1000;
    view.chartSpan = [Math.min(last - 1, ...views.map((v) => v.times[0] ?? last)), last];
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
  setText(document.getElementById('updated'), `Updated ${new Date(overview.time).toLocaleTimeString()}`);
  // Someone else's change (another console, the Apache page, a script) shows in the audit log too.
  const signature = JSON.stringify(
    overview.balancers.map((b) => [b.name, b.lbmethod, b.stickySession, b.nofailover, b.timeoutMs, b.maxAttempts, b.members.map((m) => [m.url, m.route, m.redirect, m.loadfactor, m.lbset, m.status.drain, m.status.disabled, m.status.stopped, m.status.hotStandby, m.status.hotSpare, m.status.ignoreErrors])]),
  );
  if (configSignature !== undefined && signature !== configSignature) refreshAudit();
  configSignature = signature;
}

// ---- the event stream ------------------------------------------------------------------------------------------

const CONNECTION_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stale: 'No updates', down: 'Disconnected, retrying' };

function setConnection(state) {
  connection = state;
  const node = document.getElementById('connection');
  node.className = `conn conn-${state}`;
  const quiet = state === 'stale' ? ` for ${Math.round((Date.now() - lastEventAt) / 1000)} s` : '';
  setText(node, `${CONNECTION_TEXT[state]}${quiet}`);
}

function connect() {
  const source = new EventSource(`${BASE}/api/v1/events`);
  source.addEventListener('open', () => setConnection('live'));
  source.addEventListener('message', (event) => {
    let overview;
    try {
      overview = JSON.parse(event.data);
    } catch {
      return;
    }
    lastEventAt = Date.now();
    if (connection !== 'live') setConnection('live');
    applyOverview(overview, true);
  });
  source.addEventListener('error', () => {
    // The browser reconnects by itself unless the answer was not an event stream (a 401 or 403, say).
    if (source.readyState !== EventSource.CLOSED) {
      setConnection('reconnecting');
      return;
    }
    setConnection('down');
    setTimeout(connect, RECONNECT_MS);
  });
}

function watchStaleness() {
  setInterval(() => {
    if ((connection === 'live' || connection === 'stale') && Date.now() - lastEventAt > STALE_AFTER_MS) setConnection('stale');
  }, 1000);
}

document.getElementById('audit-refresh').addEventListener('click', () => refreshAudit());
connect();
watchStaleness();
refreshAudit();
