// The list of the user's own changes at the top of the page: each one's before and after, or why it was refused.
import { el } from './dom.js';

const RESULTS_KEPT = 3;

export function report(ok, title, detail) {
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
