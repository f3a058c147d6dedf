// Apache's balancer-manager, as scripts and operators know it (docs/apache-semantics.md#the-balancer-manager): the same URL,
// form parameters, nonce, Referer gate and `?xml` output, so a curl script written for httpd works unchanged.
// Pure: parameters in, edits and pages out; the caller authenticates, applies the edits and sends the page.
import { escapeHtml } from '../server/error-page.ts';
import {
  parseLbMethod, parseLbset, parseLoadfactor, parseManagerMaxAttempts, parseManagerTimeoutMs, parseRouteName, parseStickySession, type Verdict,
} from '../config/balancer-values.ts';
import { LB_METHODS, formatSticky } from '../config/model.ts';
import { SWITCH_FLAGS, type BalancerChange, type BalancerOverview, type Edit, type ManagerOverview, type MemberChange, type MemberOverview, type RouteMismatch, type StatusSwitch } from './model.ts';

/** httpd reads at most this much of a POSTed form (bal.c); the rest is ignored, not an error. */
export const APACHE_FORM_LIMIT = 1024;
const GET_PARAMS = new Set(['w', 'b', 'nonce', 'xml']);
/** The switches in the order httpd's form lists them. */
const FORM_SWITCHES: readonly StatusSwitch[] = ['ignoreErrors', 'drain', 'disabled', 'hotStandby', 'hotSpare', 'stopped'];

export interface ApacheRequest {
  method: string;
  query: string;
  /** The POSTed form, already cut to APACHE_FORM_LIMIT. */
  body: string;
  referer: string | undefined;
  /** The host the request was sent to (Host header without the port). */
  host: string;
}

/**
 * push2table (bal.c:1079-1082): keys are URL-decoded once, values twice, by ap_unescape_url, which leaves `+` as
 * it is (curl --data-urlencode and browsers send a space as `+`: httpd 2.4.71 stores `b_ss=A | B` as `A+`).
 */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `route mismatch: issues node9, configured node1`: the member's sessions do not come back to it. */
function routeMismatchText(route: string, mismatch: RouteMismatch): string {
  const issues = mismatch.lastSeen === null ? 'another route' : mismatch.lastSeen === '' ? 'no route' : mismatch.lastSeen;
  return `route mismatch: issues ${issues}, configured ${route}`;
}

/**
 * The parameters httpd would act on, or none when its Referer gate drops them all: any request with parameters
 * needs a Referer whose host is the host asked (bal.c:1960-1967, the CVE-2012-4558 hardening).
 */
export function apacheParams(request: ApacheRequest): { params: Map<string, string>; dropped: boolean } {
  const params = new Map<string, string>();
  const post = request.method === 'POST';
  for (const pair of (post ? request.body : request.query).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (!post && !GET_PARAMS.has(key)) continue;
    params.set(key, decode(decode(eq < 0 ? '' : pair.slice(eq + 1))));
  }
  if (params.size === 0) return { params, dropped: false };
  let refererHost: string | undefined;
  try {
    refererHost = request.referer ? new URL(request.referer).hostname : undefined;
  } catch {
    refererHost = undefined;
  }
  const sameHost = refererHost !== undefined && refererHost.replace(/^\[|\]$/g, '').toLowerCase() === request.host.replace(/^\[|\]$/g, '').toLowerCase();
  return sameHost ? { params, dropped: false } : { params: new Map(), dropped: true };
}

/** httpd's atoi: leading digits, else 0. */
const atoi = (s: string | undefined) => Number.parseInt(s ?? '', 10) || 0;

/**
 * Sets `change[key]` from the form's `text`, read by httpd's own conversion and then the shared rule
 * (balancer-values.ts); a refused value is skipped without a word, as httpd skips it.
 */
function setFrom<C, K extends keyof C>(change: C, key: K, text: string | undefined, read: (text: string) => Verdict<C[K]>): void {
  const verdict = text === undefined ? undefined : read(text);
  if (verdict?.ok) change[key] = verdict.value;
}

/**
 * The edits httpd would make for these parameters: only when `b` names a balancer whose nonce is set and equal to
 * `nonce` (bal.c:1982-1991). Out-of-range values are skipped silently, as httpd skips them.
 */
export function apacheEdits(params: Map<string, string>, overview: ManagerOverview, nonces: ReadonlyMap<string, string>): Edit[] {
  const name = params.get('b');
  const balancer = overview.balancers.find((b) => b.name === name);
  const nonce = name === undefined ? undefined : nonces.get(name);
  if (!balancer || !nonce || params.get('nonce') !== nonce) return [];
  const edits: Edit[] = [];
  const w = params.get('w');
  const member = w === undefined ? undefined : balancer.members.find((m) => m.url === w);
  if (member) {
    const change = memberChange(params);
    if (Object.keys(change).length > 0) edits.push({ kind: 'member', balancer: balancer.name, member: member.url, change });
  }
  const settings = balancerChange(params);
  if (Object.keys(settings).length > 0) edits.push({ kind: 'balancer', balancer: balancer.name, change: settings });
  const url = params.get('b_nwrkr');
  // A URL already there is still asked for: the refusal is what tells httpd's caller (400) it was not added.
  if (url && params.get('b_wyes') === '1') {
    edits.push({ kind: 'add-member', balancer: balancer.name, url, change: {} });
  }
  return edits;
}

function memberChange(params: Map<string, string>): MemberChange {
  const change: MemberChange = {};
  // httpd reads the factor with atof and keeps whole hundredths.
  setFrom(change, 'loadfactor', params.get('w_lf'), (lf) => parseLoadfactor(Math.trunc(Number.parseFloat(lf) * 100) / 100));
  setFrom(change, 'lbset', params.get('w_ls'), (ls) => parseLbset(atoi(ls)));
  setFrom(change, 'route', params.get('w_wr'), parseRouteName);
  setFrom(change, 'redirect', params.get('w_rr'), parseRouteName);
  for (const name of FORM_SWITCHES) {
    const value = params.get(`w_status_${SWITCH_FLAGS[name]}`);
    if (value === undefined) continue;
    const on = atoi(value);
    if (on === 0 || on === 1) (change.status ??= {})[name] = on === 1;
  }
  return change;
}

function balancerChange(params: Map<string, string>): BalancerChange {
  const change: BalancerChange = {};
  setFrom(change, 'lbmethod', params.get('b_lbm'), parseLbMethod);
  setFrom(change, 'timeoutMs', params.get('b_tmo'), (tmo) => parseManagerTimeoutMs(atoi(tmo) * 1000));
  setFrom(change, 'maxAttempts', params.get('b_max'), (max) => parseManagerMaxAttempts(atoi(max)));
  const sforce = params.get('b_sforce');
  if (sforce !== undefined && (atoi(sforce) === 0 || atoi(sforce) === 1)) change.nofailover = atoi(sforce) === 1;
  const ss = params.get('b_ss');
  // An empty value changes nothing (httpd tests `*val`): the form of a balancer without stickiness sends one.
  if (ss !== undefined && ss.trim() !== '') {
    // Pages before 2.4.64 showed `A | B`; names are trimmed so re-submitting one unedited works (PR 69510).
    if (ss.trim() === '-') change.stickySession = null;
    else {
      setFrom(change, 'stickySession', ss.split('|').map((n) => n.trim()).join('|'), (names) => {
        const sticky = parseStickySession(names);
        return sticky.ok ? { ok: true, value: formatSticky(sticky.value) } : sticky;
      });
    }
  }
  return change;
}

/** apr_strfsize: bytes in at most four characters, as httpd's To and From columns. */
export function strfsize(size: number): string {
  if (size < 973) return `${size.toFixed(0).padStart(3)} `;
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  let value = size;
  for (const unit of units) {
    const remainder = value % 1024;
    value = Math.floor(value / 1024);
    if (value >= 973) continue;
    if (value < 9 || (value === 9 && remainder < 973)) {
      const tenths = Math.floor((remainder * 10 + 512) / 1024);
      return tenths >= 10 ? `${value + 1}.0${unit}` : `${value}.${tenths}${unit}`;
    }
    return `${(remainder >= 512 ? value + 1 : value).toString().padStart(3)}${unit}`;
  }
  return '****';
}

/** httpd keeps the cookie name (`sticky`) and the URL parameter (`sticky_path`) apart; equal ones show as one name. */
function stickyNames(b: BalancerOverview): { cookie: string; path: string } | undefined {
  if (!b.stickySession) return undefined;
  const [cookie = '', path = cookie] = b.stickySession.split('|');
  return { cookie, path };
}

/** The page shows `COOKIE|param` as 2.4.64+ does (PR 69510), so the form's value can be re-submitted as it is. */
function stickyLabel(b: BalancerOverview): string | undefined {
  const names = stickyNames(b);
  return names && (names.cookie === names.path ? names.cookie : `${names.cookie}|${names.path}`);
}

/**
 * ap_escape_uri: a worker URL stays readable in the page's links (`w=https://host:port`), so a script that scrapes
 * it gets the URL it configured. Unlike httpd, `&`, `=` and `+` are escaped too, so no URL can break the query.
 */
const escapeUri = (text: string) =>
  text.replace(/[^A-Za-z0-9$\-_.!*'(),:;@/~]/gu, (c) => [...Buffer.from(c)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''));

/** Apache's `%.2f` of the loadfactor, everywhere it shows one. */
const factorText = (m: MemberOverview) => m.loadfactor.toFixed(2);

export interface PageOptions {
  /** The page's own path, for links and forms. */
  path: string;
  /** `?b=&w=` selected a member (or a balancer): its edit form is shown, as httpd does. */
  selected?: { balancer: string; member?: string };
  /** The modern console's path, linked from the page. */
  consolePath: string;
}

/** The HTML page (bal.c:1610-1880): every value escaped, the nonce in links and forms as httpd puts it. */
export function apacheHtml(overview: ManagerOverview, nonces: ReadonlyMap<string, string>, options: PageOptions): string {
  const e = escapeHtml;
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html><head><title>Balancer Manager</title><meta charset="utf-8"></head><body>',
    '<h1>Load Balancer Manager for Stickler</h1>',
    '<dl><dt>Server Version: Stickler</dt>',
    `<dt>Balancer changes will ${overview.persisted ? '' : 'NOT '}be persisted on restart.</dt></dl>`,
    `<p>The live console: <a href="${e(options.consolePath)}">${e(options.consolePath)}</a></p>`,
  ];
  for (const b of overview.balancers) {
    const nonce = nonces.get(b.name) ?? '';
    const link = (member?: MemberOverview) =>
      `${options.path}?b=${escapeUri(b.name)}${member ? `&w=${escapeUri(member.url)}` : ''}&nonce=${escapeUri(nonce)}`;
    out.push(
      '<hr>',
      `<h3>LoadBalancer Status for <a href="${e(link())}">balancer://${e(b.name)}</a> [${e(nonce)}]</h3>`,
      '<table><tr><th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th><th>Timeout</th><th>FailoverAttempts</th><th>Method</th></tr>',
      `<tr><td>${b.capacity} [${b.members.length} Used]</td><td>${e(stickyLabel(b) ?? '(None)')}</td><td>${b.nofailover ? 'On' : 'Off'}</td>` +
        `<td>${b.timeoutMs / 1000}</td><td>${b.maxAttempts}</td><td>${e(b.lbmethod)}</td></tr></table>`,
      '<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th><th>Status</th>' +
        '<th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th></tr>',
    );
    for (const m of b.members) {
      out.push(
        `<tr><td><a href="${e(link(m))}">${e(m.url)}</a></td><td>${e(m.route)}</td><td>${e(m.redirect)}</td>` +
          `<td>${factorText(m)}</td><td>${m.lbset}</td><td>${e(m.statusLabel)}</td><td>${m.elected}</td>` +
          `<td>${m.busy}</td><td>${m.lbstatus}</td><td>${e(strfsize(m.bytesToMember))}</td><td>${e(strfsize(m.bytesFromMember))}</td></tr>`,
      );
    }
    out.push('</table>');
    // Below the table rather than in it, so the table's cells stay Apache's for whatever reads them.
    for (const m of b.members) {
      if (m.routeMismatch?.flagged) out.push(`<p><b>${e(m.url)}: ${e(routeMismatchText(m.route, m.routeMismatch))}</b></p>`);
    }
    if (options.selected?.balancer !== b.name) continue;
    const member = b.members.find((m) => m.url === options.selected?.member);
    const hidden = `<input type="hidden" name="b" value="${e(b.name)}"><input type="hidden" name="nonce" value="${e(nonce)}">`;
    if (member) {
      const flag = (letter: string, on: boolean) =>
        `<tr><td>${letter}</td><td><input name="w_status_${letter}" type="radio" value="1"${on ? ' checked' : ''}>On ` +
        `<input name="w_status_${letter}" type="radio" value="0"${on ? '' : ' checked'}>Off</td></tr>`;
      out.push(
        `<h3>Edit worker settings for ${e(member.url)}</h3>`,
        `<form method="POST" enctype="application/x-www-form-urlencoded" action="${e(options.path)}"><table>`,
        `<tr><td>Load factor:</td><td><input name="w_lf" type="text" value="${factorText(member)}"></td></tr>`,
        `<tr><td>LB Set:</td><td><input name="w_ls" type="text" value="${member.lbset}"></td></tr>`,
        `<tr><td>Route:</td><td><input name="w_wr" type="text" value="${e(member.route)}"></td></tr>`,
        `<tr><td>Route Redirect:</td><td><input name="w_rr" type="text" value="${e(member.redirect)}"></td></tr>`,
        ...FORM_SWITCHES.map((name) => flag(SWITCH_FLAGS[name], member.status[name])),
        `</table><input type="submit" value="Submit"><input type="hidden" name="w" value="${e(member.url)}">${hidden}</form>`,
      );
    } else {
      out.push(
        `<h3>Edit balancer settings for balancer://${e(b.name)}</h3>`,
        `<form method="POST" enctype="application/x-www-form-urlencoded" action="${e(options.path)}"><table>`,
        `<tr><td>LBmethod:</td><td><select name="b_lbm">${LB_METHODS.map((l) => `<option${l === b.lbmethod ? ' selected' : ''}>${l}</option>`).join('')}</select></td></tr>`,
        `<tr><td>Timeout:</td><td><input name="b_tmo" type="text" value="${b.timeoutMs / 1000}"></td></tr>`,
        `<tr><td>Failover Attempts:</td><td><input name="b_max" type="text" value="${b.maxAttempts}"></td></tr>`,
        `<tr><td>Disable Failover:</td><td><input name="b_sforce" type="radio" value="1"${b.nofailover ? ' checked' : ''}>On ` +
          `<input name="b_sforce" type="radio" value="0"${b.nofailover ? '' : ' checked'}>Off</td></tr>`,
        `<tr><td>Sticky Session:</td><td><input name="b_ss" type="text" value="${e(stickyLabel(b) ?? '')}"> (Use '-' to delete)</td></tr>`,
        // httpd offers the field only while the balancer has a free slot (its growth).
        ...(b.members.length < b.capacity
          ? [`<tr><td>Add New Worker:</td><td><input name="b_nwrkr" type="text"> Are you sure? <input name="b_wyes" type="checkbox" value="1"></td></tr>`]
          : []),
        `</table><input type="submit" value="Submit">${hidden}</form>`,
      );
    }
  }
  out.push('</body></html>', '');
  return out.join('\n');
}

const xmlEscape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `?xml` (bal.c:1436-1608): httpd's element names and order, its doubled loadfactor included. */
export function apacheXml(overview: ManagerOverview, nonces: ReadonlyMap<string, string>): string {
  const x = xmlEscape;
  const out = ["<?xml version='1.0' encoding='UTF-8' ?>", "<httpd:manager xmlns:httpd='http://httpd.apache.org'>", '  <httpd:balancers>'];
  for (const b of overview.balancers) {
    out.push('    <httpd:balancer>', `      <httpd:name>balancer://${x(b.name)}</httpd:name>`, `      <httpd:nonce>${x(nonces.get(b.name) ?? '')}</httpd:nonce>`);
    const sticky = stickyNames(b);
    // httpd prints the cookie name alone, even when a URL parameter name follows it in the configuration.
    if (sticky) out.push(`      <httpd:stickysession>${x(sticky.cookie)}</httpd:stickysession>`, `      <httpd:nofailover>${b.nofailover ? 'On' : 'Off'}</httpd:nofailover>`);
    out.push(
      `      <httpd:timeout>${b.timeoutMs / 1000}</httpd:timeout>`,
      `      <httpd:maxattempts>${b.maxAttempts}</httpd:maxattempts>`,
      `      <httpd:lbmethod>${x(b.lbmethod)}</httpd:lbmethod>`,
      '      <httpd:workers>',
    );
    for (const m of b.members) {
      const url = /^([a-z]+):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?/i.exec(m.url);
      out.push(
        '        <httpd:worker>',
        `          <httpd:name>${x(m.url)}</httpd:name>`,
        `          <httpd:scheme>${x(url?.[1] ?? '')}</httpd:scheme>`,
        `          <httpd:hostname>${x(url?.[2] ?? '')}</httpd:hostname>`,
        `          <httpd:loadfactor>${factorText(m)}</httpd:loadfactor>`,
        `          <httpd:port>${url?.[3] ?? (url?.[1]?.toLowerCase() === 'https' ? 443 : 80)}</httpd:port>`,
        `          <httpd:status>${x(m.statusLabel)}</httpd:status>`,
        ...(m.errorSince ? [`          <httpd:error_time>${new Date(m.errorSince).toUTCString()}</httpd:error_time>`] : []),
        `          <httpd:lbstatus>${m.lbstatus}</httpd:lbstatus>`,
        `          <httpd:loadfactor>${factorText(m)}</httpd:loadfactor>`,
        `          <httpd:transferred>${m.bytesToMember}</httpd:transferred>`,
        `          <httpd:read>${m.bytesFromMember}</httpd:read>`,
        `          <httpd:elected>${m.elected}</httpd:elected>`,
        `          <httpd:route>${x(m.route)}</httpd:route>`,
        `          <httpd:redirect>${x(m.redirect)}</httpd:redirect>`,
        `          <httpd:busy>${m.busy}</httpd:busy>`,
        `          <httpd:lbset>${m.lbset}</httpd:lbset>`,
        '        </httpd:worker>',
      );
    }
    out.push('      </httpd:workers>', '    </httpd:balancer>');
  }
  out.push('  </httpd:balancers>', '</httpd:manager>', '');
  return out.join('\n');
}
