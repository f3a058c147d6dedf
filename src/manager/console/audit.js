// The audit panel: the last changes, whoever made them (this console, another one, Apache's page, a script).
import { readAudit } from './api.js';
import { el, setText } from './dom.js';
import { describeEdit, differences } from './format.js';

const AUDIT_SHOWN = 50;

let auditLoading;
let auditAgain = false;

/** Reads the audit log again; asked while a read is on its way, it reads once more after it (the change may be newer). */
export function refreshAudit() {
  if (auditLoading) {
    auditAgain = true;
    return auditLoading;
  }
  auditLoading = (async () => {
    do {
      auditAgain = false;
      try {
        const response = await readAudit();
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
