// One balancer's card: its settings, its members' table, the settings and add-member forms, and the session search.
import { queryRoute } from './api.js';
import { el, metaContent, setText } from './dom.js';
import { submitEdit } from './edits.js';
import { busyWhile, checkbox, field, inlineForm, setOpen } from './forms.js';
import { formatRate, formatTimeout } from './format.js';
import { COLUMNS } from './member-view.js';
import { report } from './results.js';

// The server's list (config/model.ts LB_METHODS), so a method added there is offered here too.
const LBMETHODS = metaContent('lbmethods').split(' ');

export class BalancerView {
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
        field('Stop drained when idle (s)', el('input', { name: 'stopWhenIdle', type: 'number', min: 0, max: 86400, step: 1, required: true, title: 'A draining member none of whose sessions sent a request for this long is stopped; 0: never' })),
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
      const response = await queryRoute(this.name, session);
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
      f.stopWhenIdle.value = String(b.stopWhenIdleMs / 1000);
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
    const stopWhenIdleMs = Math.round(Number(f.stopWhenIdle.value) * 1000);
    if (stopWhenIdleMs !== b.stopWhenIdleMs) change.stopWhenIdleMs = stopWhenIdleMs;
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
