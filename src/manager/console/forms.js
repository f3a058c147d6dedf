// The console's forms and the controls that send an edit: labelled fields, inline forms that open and close in
// place, and controls disabled while their edit is on the way.
import { el } from './dom.js';

export function field(label, input) {
  return el('label', { class: 'field' }, el('span', { class: 'field-label', text: label }), input);
}

export function checkbox(label, name) {
  return el('label', { class: 'check' }, el('input', { type: 'checkbox', name }), el('span', { text: label }));
}

/** Wraps a click or submit handler: the control is disabled while its edit is on the way. */
export function busyWhile(control, task) {
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

/** An inline form: Cancel and Escape close it, submitting runs `save` with the submit button disabled meanwhile. */
export function inlineForm(label, fields, submitLabel, save, close) {
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
export function setOpen(panel, toggle, open) {
  if (!open && panel.contains(document.activeElement)) toggle.focus();
  panel.hidden = !open;
  toggle.setAttribute('aria-expanded', String(open));
}
