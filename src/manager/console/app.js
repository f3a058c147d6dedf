// Stickler's live console, the page's entry module. The server pushes a ManagerOverview (src/manager/model.ts)
// every second over server-sent events; the page keeps one DOM row per member and updates it in place, so an open
// form, the focus and the charts survive every update. The rate now (and the chart) is the difference between two
// snapshots of the server's cumulative counters; the last minute's rate and latency percentiles are the server's
// own last minute, there from the first snapshot.
//
// The modules, each served by src/manager/handler.ts next to this one: api.js (the JSON API and the CSRF token),
// events.js (the pushed snapshots and the connection state), snapshot.js (showing one), balancer-view.js and
// member-view.js (a balancer's card, a member's row, their forms), chart.js (uPlot), edits.js, results.js and
// audit.js (a change sent, its result, the audit panel), forms.js and dom.js (building the page), format.js and
// figures.js (pure: text and derived figures).
import { refreshAudit } from './audit.js';
import { showEditedOverviewWith } from './edits.js';
import { followEvents } from './events.js';
import { applyOverview } from './snapshot.js';

showEditedOverviewWith((overview) => applyOverview(overview, false));
document.getElementById('audit-refresh').addEventListener('click', () => refreshAudit());
followEvents((overview) => applyOverview(overview, true));
refreshAudit();
