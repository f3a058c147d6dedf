// Sending one edit from the console: the answer's before and after go to the results list, its snapshot to the
// page at once (not waiting for the next push), and the audit panel is read again.
import { postEdit } from './api.js';
import { refreshAudit } from './audit.js';
import { describeEdit, differences } from './format.js';
import { report } from './results.js';

// Set by app.js: the views that send edits are built by the snapshot code, which this module cannot import back.
let showOverview = () => {};

export function showEditedOverviewWith(show) {
  showOverview = show;
}

/** POSTs one Edit; shows before → after or the server's reason. Resolves to the answer, or undefined on failure. */
export async function submitEdit(edit) {
  const title = describeEdit(edit);
  let response;
  try {
    response = await postEdit(edit);
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
  if (body.overview) showOverview(body.overview);
  refreshAudit();
  return body;
}
