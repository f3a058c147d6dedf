// The balancer manager's HTTP surface, below its mount path (`<Location /balancer-manager>` or the manager
// listener): Apache's page at the mount itself, the live console under /console, the JSON API under /api/v1, and
// Prometheus metrics at /metrics. Transport-free: a request record in, a response record out; the exchange
// reads the body and writes the answer.
import { readFileSync } from 'node:fs';
import { cpuUsage, memoryUsage } from 'node:process';
import type { Balancer } from '../balancer/balancer.ts';
import { LB_METHODS, type VirtualHostConfig } from '../config/model.ts';
import { explainAnswer } from './explain-query.ts';
import { getHeader, type HeaderList } from '../http/head.ts';
import { apacheEdits, apacheHtml, apacheParams, apacheXml, APACHE_FORM_LIMIT } from './apache-page.ts';
import type { ManagerAuth } from './auth.ts';
import { csrfProblem, csrfToken, newSessionId, sessionCookie, sessionFrom } from './csrf.ts';
import { readEdit } from './edit-input.ts';
import { prometheusText, PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
import type { Actor, AuditEntry, CertificateOverview, Edit, EditOutcome, ManagerOverview, SharedStatus } from './model.ts';
import { overview, type MergeActivity } from './overview.ts';
import { readRouteQuery, routeAnswer } from './route-query.ts';

/** The largest request body the manager reads; Apache's own form stops at 1 KiB. */
export const MANAGER_BODY_LIMIT = 64 * 1024;
/** Pushed console updates: one snapshot per interval. */
const EVENT_INTERVAL_MS = 1_000;

/**
 * What the manager reads of the runtime serving the request (server/runtime.ts's Runtime, which holds the
 * manager): declared here so the manager does not import the server that mounts it.
 */
export interface ManagedRuntime {
  readonly balancers: ReadonlyMap<string, { readonly balancer: Balancer }>;
  /** Its virtual hosts, which map a URL to its balancer (explain). */
  readonly config: { readonly virtualHosts: VirtualHostConfig[] };
  /** True once a reload replaced this runtime: the console's event stream ends. */
  readonly retired: boolean;
}

export interface ManagerRequest {
  method: string;
  /** Below the mount: '' or '/...'. */
  path: string;
  query: string;
  /** Where the manager is mounted (`/balancer-manager`). */
  mount: string;
  headers: HeaderList;
  body: Buffer;
  clientIp: string;
  scheme: 'http' | 'https';
  runtime: ManagedRuntime;
}

export type ManagerResponse =
  | { kind: 'full'; status: number; headers: HeaderList; body: Buffer }
  /** Server-sent events: `next()` gives each event's data until it says undefined (the runtime was replaced). */
  | { kind: 'events'; headers: HeaderList; intervalMs: number; next: () => string | undefined };

/** Applies edits for every thread (see coordinator.ts). */
export interface ManagerControl {
  submit(edit: Edit, actor: Actor): Promise<EditOutcome>;
}

export interface ManagerContext {
  /** Signs console sessions' CSRF tokens; the same in every worker thread. */
  secret: Buffer;
  control: ManagerControl;
  persisted: () => boolean;
  recentAudit: () => readonly AuditEntry[];
  /** With shared state configured: this instance's view of it. */
  sharedState?: () => SharedStatus;
  /** With shared state: a draining member's activity over the group, for the drain view. */
  mergeActivity?: MergeActivity;
  /** The certificates this thread serves (and how their renewal goes). */
  certificates?: () => CertificateOverview[];
}

/** Every manager response: no caching, no framing, no sniffing, no referrer, scripts only from here. */
const SECURITY_HEADERS: HeaderList = [
  ['Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"],
  ['X-Frame-Options', 'DENY'],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cache-Control', 'no-store'],
];

const JAVASCRIPT = 'text/javascript; charset=utf-8';
/** The console's ES modules: app.js, the page's entry, imports the others by relative URL, so each is served here. */
const CONSOLE_MODULES = ['app.js', 'api.js', 'audit.js', 'balancer-view.js', 'chart.js', 'dom.js', 'edits.js', 'events.js', 'figures.js', 'format.js', 'forms.js', 'member-view.js', 'results.js', 'snapshot.js'];
const ASSETS: Record<string, { file: URL; type: string }> = {
  ...Object.fromEntries(CONSOLE_MODULES.map((name) => [name, { file: new URL(`./console/${name}`, import.meta.url), type: JAVASCRIPT }])),
  'app.css': { file: new URL('./console/app.css', import.meta.url), type: 'text/css; charset=utf-8' },
  'uplot.js': { file: new URL('../../node_modules/uplot/dist/uPlot.iife.min.js', import.meta.url), type: JAVASCRIPT },
  'uplot.css': { file: new URL('../../node_modules/uplot/dist/uPlot.min.css', import.meta.url), type: 'text/css; charset=utf-8' },
};
const assetCache = new Map<string, Buffer>();
/** The console page, read once; each answer fills in the mount path and the session's CSRF token. */
let consoleTemplate: string | undefined;

function asset(name: string): Buffer {
  let body = assetCache.get(name);
  if (!body) {
    body = readFileSync(ASSETS[name]!.file);
    assetCache.set(name, body);
  }
  return body;
}

const escapeAttribute = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function respond(status: number, type: string, body: string | Buffer, extra: HeaderList = []): ManagerResponse {
  return { kind: 'full', status, headers: [['Content-Type', type], ...SECURITY_HEADERS, ...extra], body: typeof body === 'string' ? Buffer.from(body) : body };
}

/** A refusal as every manager answer is made: JSON with the manager's headers (for the exchange's own refusals too). */
export function managerProblem(status: number, reason: string): { status: number; headers: HeaderList; body: Buffer } {
  const response = problem(status, reason) as Extract<ManagerResponse, { kind: 'full' }>;
  return { status: response.status, headers: response.headers, body: response.body };
}

const json = (status: number, value: unknown, extra: HeaderList = []) => respond(status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, extra);
const problem = (status: number, reason: string, extra: HeaderList = []) => json(status, { error: reason }, extra);
const onlyMethods = (allowed: string) => problem(405, `this resource answers ${allowed} only`, [['Allow', allowed]]);

export class Manager {
  private readonly context: ManagerContext;
  /** Apache's per-balancer nonce, a random UUID per start (util.c:1306-1316); set with each configuration. */
  private nonces: ReadonlyMap<string, string> = new Map();
  private auth: ManagerAuth | undefined;

  constructor(context: ManagerContext) {
    this.context = context;
  }

  /** Takes the nonces and credentials of a (re)loaded configuration. */
  configure(nonces: ReadonlyMap<string, string>, auth: ManagerAuth): void {
    this.nonces = nonces;
    this.auth = auth;
  }

  overview(runtime: ManagedRuntime, now = Date.now()): ManagerOverview {
    const certificates = this.context.certificates?.() ?? [];
    return { ...overview(runtime.balancers.values(), this.context.persisted(), now, this.context.sharedState?.(), this.context.mergeActivity), ...(certificates.length > 0 && { certificates }) };
  }

  async handle(request: ManagerRequest): Promise<ManagerResponse> {
    if (!this.auth) return problem(503, 'the manager is not configured yet');
    const auth = await this.auth.check(getHeader(request.headers, 'authorization'), request.clientIp);
    if (!auth.ok) return problem(auth.status, auth.reason, auth.headers);
    const actor: Actor = { user: auth.user, ip: request.clientIp };
    const { path, method } = request;
    const read = method === 'GET' || method === 'HEAD';
    if (path === '' || path === '/') {
      if (!read && method !== 'POST') return onlyMethods('GET, HEAD, POST');
      return this.apache(request, actor);
    }
    if (path === '/console' || path === '/console/') return read ? this.console(request) : onlyMethods('GET, HEAD');
    if (path.startsWith('/console/')) {
      const name = path.slice('/console/'.length);
      if (!Object.hasOwn(ASSETS, name)) return problem(404, `no console file ${name}`);
      return read ? respond(200, ASSETS[name]!.type, asset(name)) : onlyMethods('GET, HEAD');
    }
    if (path === '/metrics') return read ? this.metrics(request.runtime) : onlyMethods('GET, HEAD');
    if (path.startsWith('/api/v1/')) return this.api(request, actor, auth.method === 'token');
    return problem(404, `no manager resource ${request.mount}${path}`);
  }

  private async apache(request: ManagerRequest, actor: Actor): Promise<ManagerResponse> {
    const host = (getHeader(request.headers, 'host') ?? '').replace(/:\d+$/, '');
    const body = request.body.subarray(0, APACHE_FORM_LIMIT).toString('latin1');
    const { params } = apacheParams({ method: request.method, query: request.query, body, referer: getHeader(request.headers, 'referer'), host });
    const before = this.overview(request.runtime);
    let refusedWorker: string | undefined;
    for (const edit of apacheEdits(params, before, this.nonces)) {
      // httpd applies what it can and ignores the rest silently; so does this page (the API says why). Only a
      // worker it cannot add makes httpd answer 400, which a `curl --fail` script notices.
      const outcome = await this.context.control.submit(edit, actor);
      // Unlike a refused setting, an edit the instance cannot take now at all (shared state unreachable) is said.
      if (!outcome.ok && outcome.status === 503) return respond(503, 'text/plain; charset=utf-8', `${outcome.reason}\n`);
      if (!outcome.ok && edit.kind === 'add-member') refusedWorker = outcome.reason;
    }
    if (refusedWorker) return respond(400, 'text/plain; charset=utf-8', `${refusedWorker}\n`);
    const now = this.overview(request.runtime);
    if (params.has('xml')) return respond(200, 'text/xml; charset=utf-8', apacheXml(now, this.nonces));
    const b = params.get('b');
    const selected = b === undefined ? undefined : { balancer: b, ...(params.has('w') && { member: params.get('w')! }) };
    const html = apacheHtml(now, this.nonces, { path: request.mount, consolePath: `${request.mount}/console`, ...(selected && { selected }) });
    return respond(200, 'text/html; charset=utf-8', html);
  }

  private console(request: ManagerRequest): ManagerResponse {
    const existing = sessionFrom(request.headers);
    const session = existing ?? newSessionId();
    consoleTemplate ??= readFileSync(new URL('./console/index.html', import.meta.url), 'utf8');
    const page = consoleTemplate
      .replaceAll('{{base}}', escapeAttribute(request.mount))
      .replaceAll('{{csrf}}', escapeAttribute(csrfToken(this.context.secret, session)))
      .replaceAll('{{lbmethods}}', LB_METHODS.join(' '));
    const cookie: HeaderList = existing ? [] : [['Set-Cookie', sessionCookie(session, request.mount, request.scheme === 'https')]];
    return respond(200, 'text/html; charset=utf-8', page, cookie);
  }

  private metrics(runtime: ManagedRuntime): ManagerResponse {
    const cpu = cpuUsage();
    const text = prometheusText(this.overview(runtime), {
      startTimeSeconds: Math.round((Date.now() - performance.now()) / 1000),
      residentBytes: memoryUsage.rss(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    });
    return respond(200, PROMETHEUS_CONTENT_TYPE, text);
  }

  /**
   * Which member a session id routes to now (route-query.ts). It changes nothing, so it needs no CSRF token: another
   * site cannot read the answer, and its JSON body already takes a CORS preflight, which the manager never grants.
   */
  private route(request: ManagerRequest): ManagerResponse {
    const body = jsonBody(request);
    if (!body.ok) return problem(body.status, body.reason);
    const query = readRouteQuery(body.value);
    if (!query.ok) return problem(400, query.reason);
    const found = request.runtime.balancers.get(query.balancer);
    if (!found) return problem(404, `no balancer "${query.balancer}"; expected one of ${[...request.runtime.balancers.keys()].join(', ') || '(none)'}`);
    return json(200, routeAnswer(found.balancer, query.session, Date.now()));
  }

  /** The decision a URL would get now (explain-query.ts): it reads the live state and changes nothing, as route does. */
  private explain(request: ManagerRequest): ManagerResponse {
    const answer = explainAnswer(request.query, request.runtime.config.virtualHosts, request.runtime.balancers, Date.now());
    return answer.ok ? json(200, answer.value) : problem(answer.status, answer.reason);
  }

  private async api(request: ManagerRequest, actor: Actor, byToken: boolean): Promise<ManagerResponse> {
    const read = request.method === 'GET' || request.method === 'HEAD';
    const resource = request.path.slice('/api/v1/'.length);
    if (resource === 'balancers') return read ? json(200, this.overview(request.runtime)) : onlyMethods('GET, HEAD');
    if (resource === 'route') return request.method === 'POST' ? this.route(request) : onlyMethods('POST');
    if (resource === 'explain') return read ? this.explain(request) : onlyMethods('GET, HEAD');
    if (resource === 'audit') return read ? json(200, { entries: this.context.recentAudit() }) : onlyMethods('GET, HEAD');
    if (resource === 'events') {
      if (!read) return onlyMethods('GET, HEAD');
      const { runtime } = request;
      return {
        kind: 'events',
        headers: [['Content-Type', 'text/event-stream; charset=utf-8'], ...SECURITY_HEADERS],
        intervalMs: EVENT_INTERVAL_MS,
        next: () => (runtime.retired ? undefined : JSON.stringify(this.overview(runtime))),
      };
    }
    if (resource !== 'edits') return problem(404, `no API resource ${request.mount}${request.path}; expected balancers, events, route, explain, audit or edits`);
    if (request.method !== 'POST') return onlyMethods('POST');
    if (!byToken) {
      const host = getHeader(request.headers, 'host') ?? '';
      const refused = csrfProblem(request.headers, this.context.secret, `${request.scheme}://${host}`);
      if (refused) return problem(403, refused);
    }
    const body = jsonBody(request);
    if (!body.ok) return problem(body.status, body.reason);
    const edit = readEdit(body.value);
    if (!edit.ok) return problem(400, edit.reason);
    const outcome = await this.context.control.submit(edit.value, actor);
    if (!outcome.ok) return problem(outcome.status, outcome.reason);
    return json(200, { before: outcome.before, after: outcome.after, overview: this.overview(request.runtime) });
  }
}

/** A POST's JSON body, or the status and reason to refuse it with. */
function jsonBody(request: ManagerRequest): { ok: true; value: unknown } | { ok: false; status: number; reason: string } {
  const type = getHeader(request.headers, 'content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) return { ok: false, status: 415, reason: `expected Content-Type: application/json, got ${type || 'none'}` };
  try {
    return { ok: true, value: JSON.parse(request.body.toString('utf8')) };
  } catch (err) {
    return { ok: false, status: 400, reason: `the body is not JSON: ${(err as Error).message}` };
  }
}
