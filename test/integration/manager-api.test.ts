// The balancer manager's JSON API end to end, against real HTTPS members on 127.0.0.1: what it refuses (forged
// requests, wrong methods, member URLs that would reach anything but a web server, oversized bodies, missing or
// guessed credentials, an exposed mount), the headers every answer carries, what each control does to real
// traffic, the audit trail, the state file across restarts and SIGKILLs, and what /metrics costs under load.
// Stickler runs in process where a configuration model is enough, and as the CLI where a restart or a crash is
// the point.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { LocationConfig, ManagerConfig, MemberConfig } from '../../src/config/model.ts';
import { managerAuth } from '../../src/manager/exposure.ts';
import type { AuditEntry, ManagerOverview, MemberOverview } from '../../src/manager/model.ts';
import { Stickler, StartupError } from '../../src/server/server.ts';
import { keepAliveAgent, request, type HttpsResponse, type RequestOptions } from '../support/client.ts';
import { engineConfig, localCertificate, member, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { CLI, startStickler, type SticklerProcess } from '../support/stickler.ts';
import { pollUntil, withTimeout } from '../support/wait.ts';

const SOURCE = { file: 'manager-api.test', line: 1 };
const MOUNT = '/balancer-manager';
const JSON_TYPE = { 'content-type': 'application/json' };
/** Members nobody listens on, for tests that never send them traffic. */
const IDLE_A = 'https://127.0.0.1:9';
const IDLE_B = 'https://127.0.0.1:10';
/** The console's files as its page loads them: every file of src/manager/console but the page itself, and uPlot's. */
const CONSOLE_FILES = [...readdirSync(new URL('../../src/manager/console/', import.meta.url)).filter((f) => f !== 'index.html'), 'uplot.js', 'uplot.css'];

const scratch = mkdtempSync(join(tmpdir(), 'stickler-manager-api-'));
let scratchFiles = 0;
function scratchFile(name: string, text?: string): string {
  const file = join(scratch, `${++scratchFiles}-${name}`);
  if (text !== undefined) writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// Members, Stickler and the manager's client side

interface Backend {
  url: string;
  close(): void;
}

/** An HTTPS member that answers every request with its name. */
async function backend(name: string): Promise<Backend> {
  const { certFile, keyFile } = localCertificate();
  const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 30_000 }, (req, res) => {
    req.resume();
    req.on('end', () => res.end(name));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

interface Managed {
  port: number;
  origin: string;
  /** https://127.0.0.1:port/balancer-manager */
  base: string;
  close(): Promise<void>;
}

const requireLocal = (): LocationConfig => ({
  source: SOURCE,
  path: MOUNT,
  handler: 'balancer-manager',
  access: [{ kind: 'require', source: SOURCE, negate: false, match: 'local' }],
});

interface ManagedOptions {
  manager?: Omit<ManagerConfig, 'source'>;
  /** More locations after the manager's own. */
  locations?: LocationConfig[];
  /** Stickler's own access log, as JSON lines, to this file. */
  jsonLog?: string;
}

/** Stickler in process with the manager at /balancer-manager (Require local) in front of `members`. */
async function managed(members: MemberConfig[], opts: ManagedOptions = {}): Promise<Managed> {
  const port = await freePort();
  const extra = opts.locations ?? [];
  const config = engineConfig(port, {
    members,
    vhost: {
      routes: [
        ...[MOUNT, ...extra.map((l) => l.path)].map((path) => ({ source: SOURCE, path, target: { kind: 'exclude' as const } })),
        { source: SOURCE, path: '/', target: { kind: 'balancer', balancer: 'cluster', path: '/' } },
      ],
      locations: [requireLocal(), ...extra],
    },
  });
  // An audit file keeps the audit lines off standard error.
  config.manager = { source: SOURCE, auditLog: scratchFile('audit.jsonl'), ...opts.manager };
  if (opts.jsonLog) config.log = { access: opts.jsonLog, format: { kind: 'json' } };
  const stickler = new Stickler(config);
  await stickler.start();
  const origin = `https://127.0.0.1:${port}`;
  return { port, origin, base: `${origin}${MOUNT}`, close: () => stickler.close() };
}

interface ConsoleSession {
  cookie: string;
  token: string;
}

/** What a browser gets from GET {P}/console: the session cookie and the page's CSRF token. */
async function consoleSession(m: Managed, headers: Record<string, string> = {}): Promise<ConsoleSession> {
  const page = await request(`${m.base}/console`, { headers });
  assert.equal(page.status, 200, page.body);
  const setCookie = page.headers['set-cookie']?.[0] ?? '';
  assert.match(setCookie, /^stickler_manager=[A-Za-z0-9_-]+; Path=\/balancer-manager; HttpOnly; SameSite=Strict/);
  const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1];
  assert.ok(token, 'the console page carries <meta name="csrf-token">');
  return { cookie: setCookie.split(';')[0]!, token };
}

/** The headers the console's own fetch() sends with a change. */
const sameOrigin = (m: Managed, s: ConsoleSession): Record<string, string> => ({
  cookie: s.cookie,
  'x-csrf-token': s.token,
  origin: m.origin,
  'sec-fetch-site': 'same-origin',
});

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function postEdit(base: string, edit: unknown, headers: Record<string, string>, opts: RequestOptions = {}): Promise<HttpsResponse> {
  return request(`${base}/api/v1/edits`, { ...opts, method: 'POST', headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(edit) });
}

/** An edit that must be applied; its `{before, after, overview}`. */
async function applied(base: string, edit: unknown, headers: Record<string, string>): Promise<{ before: unknown; after: unknown; overview: ManagerOverview }> {
  const r = await postEdit(base, edit, headers);
  assert.equal(r.status, 200, `${JSON.stringify(edit)}: ${r.body}`);
  return JSON.parse(r.body);
}

async function overview(base: string, headers: Record<string, string> = {}): Promise<ManagerOverview> {
  const r = await request(`${base}/api/v1/balancers`, { headers });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as ManagerOverview;
}

function memberOf(o: ManagerOverview, url: string, balancer = 'cluster'): MemberOverview | undefined {
  return o.balancers.find((b) => b.name === balancer)?.members.find((m) => m.url === url);
}

const memberEdit = (url: string, change: Record<string, unknown>) => ({ kind: 'member', balancer: 'cluster', member: url, change });

/** Status and headers only (for the event stream, which never ends). */
function headersOnly(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = https.get(url, { headers, rejectUnauthorized: false, agent: false }, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
        res.destroy();
      });
      req.once('error', reject);
    }),
    10_000,
    `GET ${url}`,
  );
}

function assertSecurityHeaders(r: { status: number; headers: IncomingHttpHeaders }, what: string): void {
  const at = `${what} (${r.status})`;
  const csp = String(r.headers['content-security-policy'] ?? '');
  assert.match(csp, /(^|;)\s*script-src 'self'\s*(;|$)/, `${at}: Content-Security-Policy script-src, got "${csp}"`);
  assert.match(csp, /(^|;)\s*style-src 'self'\s*(;|$)/, `${at}: Content-Security-Policy style-src, got "${csp}"`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${at}: Content-Security-Policy`);
  assert.equal(r.headers['x-frame-options'], 'DENY', `${at}: X-Frame-Options`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', `${at}: X-Content-Type-Options`);
  assert.equal(r.headers['referrer-policy'], 'no-referrer', `${at}: Referrer-Policy`);
  assert.equal(r.headers['cache-control'], 'no-store', `${at}: Cache-Control`);
}

/**
 * Sends `head`, then the body pieces as fast as the socket takes them, until the server answers; resolves with
 * the answer's status once its head and Content-Length body are in (or the server closed).
 */
function sendLarge(port: number, head: string, pieces: Iterable<Buffer>): Promise<{ status: number; text: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let answer = '';
    let sent = 0;
    let done = false;
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);
      if (status === 0) reject(err ?? new Error(`no answer after ${sent} body bytes: ${JSON.stringify(answer.slice(0, 200))}`));
      else resolve({ status, text: answer, sent });
    };
    const timer = setTimeout(() => finish(new Error(`no answer within 10 s after ${sent} body bytes`)), 10_000);
    const pieceIterator = pieces[Symbol.iterator]();
    const pump = (): void => {
      while (!done && answer === '') {
        const next = pieceIterator.next();
        if (next.done) return;
        sent += next.value.length;
        if (!socket.write(next.value)) return void socket.once('drain', pump);
      }
    };
    socket.setEncoding('latin1');
    socket.once('secureConnect', () => {
      socket.write(head);
      pump();
    });
    socket.on('data', (d: string) => {
      answer += d;
      const end = answer.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(answer.slice(0, end))?.[1] ?? -1);
      if (end >= 0 && length >= 0 && answer.length >= end + 4 + length) finish();
    });
    socket.once('close', () => finish());
    // A reset while the body is still being sent is expected once the server has answered.
    socket.on('error', (err) => finish(err));
  });
}

function* tenMegabytes(chunked: boolean): Generator<Buffer> {
  const piece = Buffer.alloc(64 * 1024, 'a');
  for (let i = 0; i < 160; i++) yield chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
  if (chunked) yield Buffer.from('0\r\n\r\n');
}

// ---------------------------------------------------------------------------------------------------------------

describe('manager API: requests a browser could be tricked into, and what they may carry', () => {
  let m: Managed;
  before(async () => {
    // /closed-manager is a second mount whose access rule refuses this client.
    m = await managed([member(IDLE_A, { route: 'a' }), member(IDLE_B, { route: 'b' })], {
      locations: [{ source: SOURCE, path: '/closed-manager', handler: 'balancer-manager', access: [{ kind: 'require', source: SOURCE, negate: false, match: { kind: 'ip', cidr: '10.0.0.0/8' } }] }],
    });
  });
  after(() => m.close());

  test('CSRF: POST /api/v1/edits needs this session\'s token, our Origin and a same-origin fetch', async () => {
    const mine = await consoleSession(m);
    const other = await consoleSession(m);
    assert.notEqual(mine.token, other.token);
    const edit = memberEdit(IDLE_A, { loadfactor: 7 });
    const refused: Array<[string, Record<string, string>, RegExp]> = [
      ['no cookie, no token', {}, /no console session and CSRF token/],
      ['a cookie but no token', { cookie: mine.cookie, origin: m.origin }, /no console session and CSRF token/],
      ["another session's token", { ...sameOrigin(m, mine), 'x-csrf-token': other.token }, /does not belong to this session/],
      ['a cross-site Origin', { ...sameOrigin(m, mine), origin: 'https://evil.example' }, /Origin https:\/\/evil\.example is not https:\/\/127\.0\.0\.1:\d+/],
      ['Sec-Fetch-Site: cross-site', { ...sameOrigin(m, mine), 'sec-fetch-site': 'cross-site' }, /Sec-Fetch-Site is cross-site/],
      ['Sec-Fetch-Site: same-site', { ...sameOrigin(m, mine), 'sec-fetch-site': 'same-site' }, /Sec-Fetch-Site is same-site/],
    ];
    for (const [what, headers, reason] of refused) {
      const r = await postEdit(m.base, edit, headers);
      assert.equal(r.status, 403, `${what}: ${r.body}`);
      assert.match(JSON.parse(r.body).error, reason, what);
    }
    assert.equal(memberOf(await overview(m.base), IDLE_A)!.loadfactor, 1, 'no refused request changed anything');
    const ok = await applied(m.base, edit, sameOrigin(m, mine));
    assert.equal(memberOf(ok.overview, IDLE_A)!.loadfactor, 7);
    // A browser that sends neither Origin nor Sec-Fetch-Site on a same-origin request is still let through.
    await applied(m.base, memberEdit(IDLE_A, { loadfactor: 1 }), { cookie: mine.cookie, 'x-csrf-token': mine.token });
  });

  test('GET on /api/v1/edits is 405 with Allow: POST, and changes nothing', async () => {
    const s = await consoleSession(m);
    const audited = async () => (JSON.parse((await request(`${m.base}/api/v1/audit`)).body) as { entries: AuditEntry[] }).entries.length;
    const before = await audited();
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const query = `kind=member&balancer=cluster&member=${encodeURIComponent(IDLE_A)}&change=${encodeURIComponent('{"loadfactor":9}')}`;
      const r = await request(`${m.base}/api/v1/edits?${query}`, { method, headers: sameOrigin(m, s) });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'POST', method);
    }
    assert.equal(await audited(), before);
    assert.equal(memberOf(await overview(m.base), IDLE_A)!.loadfactor, 1);
  });

  test('add-member refuses URLs that are not plain http(s)://host[:port][/path], and adds nothing', async () => {
    const s = await consoleSession(m);
    const bad: Array<[string, RegExp]> = [
      ['file:///etc/passwd', /only those schemes are accepted/],
      ['unix:/x|http://h', /contains a space, a control character, "\|"/],
      ['http://user:pw@h', /carries a user name or password/],
      ['gopher://x', /is not an http:\/\/ or https:\/\/ URL/],
    ];
    for (const [url, reason] of bad) {
      const r = await postEdit(m.base, { kind: 'add-member', balancer: 'cluster', url, change: { route: 'x' } }, sameOrigin(m, s));
      assert.equal(r.status, 400, `${url}: ${r.body}`);
      assert.match(r.headers['content-type'] ?? '', /^application\/json/);
      const error: string = JSON.parse(r.body).error;
      assert.match(error, reason, url);
    }
    const after = await overview(m.base);
    assert.deepEqual(after.balancers[0]!.members.map((x) => x.url), [IDLE_A, IDLE_B]);
    const audit = JSON.parse((await request(`${m.base}/api/v1/audit`)).body) as { entries: AuditEntry[] };
    assert.equal(audit.entries.filter((e) => e.edit.kind === 'add-member').length, 0);
  });

  test('add-member refuses a URL that is one of Stickler\'s own listeners (400 naming it), and adds nothing', async () => {
    const s = await consoleSession(m);
    for (const url of [`https://127.0.0.1:${m.port}`, `https://localhost:${m.port}/balancer-manager`, `https://[::ffff:7f00:1]:${m.port}/`, `https://0.0.0.0:${m.port}`]) {
      const r = await postEdit(m.base, { kind: 'add-member', balancer: 'cluster', url, change: { route: 'loop' } }, sameOrigin(m, s));
      assert.equal(r.status, 400, `${url}: ${r.body}`);
      assert.match(JSON.parse(r.body).error, new RegExp(`is Stickler's own listener 127\\.0\\.0\\.1:${m.port}: requests would loop back`), url);
    }
    assert.deepEqual((await overview(m.base)).balancers[0]!.members.map((x) => x.url), [IDLE_A, IDLE_B]);
    const audit = JSON.parse((await request(`${m.base}/api/v1/audit`)).body) as { entries: AuditEntry[] };
    assert.equal(audit.entries.filter((e) => e.edit.kind === 'add-member').length, 0);
  });

  for (const chunked of [false, true]) {
    test(`a 10 MB body ${chunked ? '(chunked)' : 'with Content-Length'} is refused with 413, and the manager keeps serving`, async () => {
      const s = await consoleSession(m);
      const head =
        `POST ${MOUNT}/api/v1/edits HTTP/1.1\r\nHost: 127.0.0.1:${m.port}\r\nContent-Type: application/json\r\n` +
        `Cookie: ${s.cookie}\r\nX-CSRF-Token: ${s.token}\r\nOrigin: ${m.origin}\r\n` +
        (chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${10 * 1024 * 1024}\r\n`) +
        '\r\n';
      const r = await sendLarge(m.port, head, tenMegabytes(chunked));
      assert.equal(r.status, 413, r.text.slice(0, 300));
      // Stickler stopped reading at the limit: most of the body never even left the client.
      assert.ok(r.sent < 10 * 1024 * 1024, `answered before the whole body was read (${r.sent} bytes sent)`);
      assert.equal((await overview(m.base)).balancers[0]!.members.length, 2);
    });
  }

  test('security headers on every answer of the manager: pages, console files, API, events, metrics, errors', async () => {
    const s = await consoleSession(m);
    const get = (path: string, headers: Record<string, string> = {}) => request(`${m.base}${path}`, { headers });
    const answers: Array<[string, { status: number; headers: IncomingHttpHeaders }, number]> = [
      ['GET P', await get(''), 200],
      ['GET P?xml', await get('?xml'), 200],
      ['GET P/console', await get('/console'), 200],
      ...(await Promise.all(CONSOLE_FILES.map(async (f) => [`GET P/console/${f}`, await get(`/console/${f}`), 200] as [string, HttpsResponse, number]))),
      ['GET P/api/v1/balancers', await get('/api/v1/balancers'), 200],
      ['GET P/api/v1/audit', await get('/api/v1/audit'), 200],
      ['POST P/api/v1/route', await searchRoute(m.base, { balancer: 'cluster', session: 'S.b' }), 200],
      ['POST P/api/v1/route with a bad session', await searchRoute(m.base, { balancer: 'cluster', session: 'a;b' }), 400],
      ['POST P/api/v1/route as a form', await request(`${m.base}/api/v1/route`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'balancer=cluster&session=S.b' }), 415],
      ['GET P/api/v1/route: a session id never goes in a URL', await get('/api/v1/route?balancer=cluster&session=S.b'), 405],
      ['GET P/api/v1/events', await headersOnly(`${m.base}/api/v1/events`), 200],
      ['GET P/metrics', await get('/metrics'), 200],
      ['POST P/api/v1/edits', await postEdit(m.base, memberEdit(IDLE_B, { route: 'b' }), sameOrigin(m, s)), 200],
      ['GET P/nothing-here', await get('/nothing-here'), 404],
      ['GET P/console/missing.js', await get('/console/missing.js'), 404],
      ['GET P/api/v1/nothing', await get('/api/v1/nothing'), 404],
      ['GET P/api/v1/edits', await get('/api/v1/edits'), 405],
      ['DELETE P/metrics', await request(`${m.base}/metrics`, { method: 'DELETE' }), 405],
      ['POST P/api/v1/edits without a token', await postEdit(m.base, memberEdit(IDLE_B, {}), {}), 403],
      ['POST P/api/v1/edits as text/plain', await request(`${m.base}/api/v1/edits`, { method: 'POST', headers: { ...sameOrigin(m, s), 'content-type': 'text/plain' }, body: '{}' }), 415],
      ['POST P/api/v1/edits, not JSON', await request(`${m.base}/api/v1/edits`, { method: 'POST', headers: { ...sameOrigin(m, s), ...JSON_TYPE }, body: '{' }), 400],
      ['POST P/api/v1/edits, unknown member', await postEdit(m.base, memberEdit('https://127.0.0.1:11', {}), sameOrigin(m, s)), 404],
    ];
    for (const [what, r, status] of answers) {
      assert.equal(r.status, status, what);
      assertSecurityHeaders(r, what);
    }
  });

  test('console files: each module of src/manager/console is served as JavaScript (a browser refuses a module script of another type), the styles as CSS', async () => {
    for (const f of CONSOLE_FILES) {
      const r = await request(`${m.base}/console/${f}`);
      assert.equal(r.status, 200, f);
      assert.equal(r.headers['content-type'], f.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', f);
    }
  });

  test('security headers also on refusals made before the manager reads the request (413 over the limit, 403 by the access rule)', async () => {
    const tooLarge = await sendLarge(m.port, `POST ${MOUNT}/api/v1/edits HTTP/1.1\r\nHost: 127.0.0.1:${m.port}\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n\r\n`, []);
    const headers: IncomingHttpHeaders = {};
    for (const line of tooLarge.text.slice(0, tooLarge.text.indexOf('\r\n\r\n')).split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const closed = await request(`${m.origin}/closed-manager/api/v1/balancers`);
    assert.equal(tooLarge.status, 413);
    assert.equal(closed.status, 403);
    assertSecurityHeaders({ status: tooLarge.status, headers }, 'POST P/api/v1/edits with Content-Length: 1 MiB');
    assertSecurityHeaders(closed, 'GET /closed-manager/api/v1/balancers refused by Require ip');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('manager API: authentication and the audit trail', () => {
  const password = 'correct horse battery staple';
  const token = 'tok-3f9a0c1e5b7d2a4c6e8f0a1b3c5d7e9f';
  let htpasswdFile: string;
  let tokenFile: string;
  before(() => {
    htpasswdFile = scratchFile('users.htpasswd', `# managers\nalice:${bcrypt.hashSync(password, 4)}\nbob:${bcrypt.hashSync('another one', 4)}\n`);
    tokenFile = scratchFile('tokens', `# scripts\n${token}\n`);
  });

  test('htpasswd: 401 without or with wrong credentials, 200 with; Basic still needs the CSRF token, a bearer token does not', async () => {
    const auditLog = scratchFile('audit.jsonl');
    const m = await managed([member(IDLE_A, { route: 'a' }), member(IDLE_B, { route: 'b' })], { manager: { htpasswdFile, tokenFile, auditLog } });
    try {
      const none = await request(`${m.base}/api/v1/balancers`);
      assert.equal(none.status, 401);
      assert.match(none.headers['www-authenticate'] ?? '', /^Basic realm="[^"]+"/);
      assertSecurityHeaders(none, 'GET P/api/v1/balancers without credentials');
      for (const [what, headers] of [
        ['a wrong password', basic('alice', 'wrong')],
        ['an unknown user', basic('mallory', password)],
        ['a wrong token', bearer('tok-not-the-right-one-0000000000')],
      ] as const) {
        const r = await request(`${m.base}/api/v1/balancers`, { headers });
        assert.equal(r.status, 401, what);
        assert.doesNotMatch(r.body, /mallory|alice/, `${what}: the refusal does not say whether the user exists`);
      }
      for (const path of ['', '/console', '/metrics', '/api/v1/audit', '/api/v1/route?balancer=cluster&session=S.b']) {
        assert.equal((await request(`${m.base}${path}`)).status, 401, `GET P${path} without credentials`);
      }
      assert.equal((await searchRoute(m.base, { balancer: 'cluster', session: 'S.b' })).status, 401, 'POST P/api/v1/route without credentials');
      const alice = basic('alice', password);
      assert.equal((await request(`${m.base}/api/v1/balancers`, { headers: alice })).status, 200);
      assert.equal((await request(`${m.base}/metrics`, { headers: bearer(token) })).status, 200);

      // Basic credentials are sent by the browser on its own, so a change still needs the console's token.
      const forged = await postEdit(m.base, memberEdit(IDLE_A, { status: { drain: true } }), { ...alice, origin: 'https://evil.example' });
      assert.equal(forged.status, 403, forged.body);
      const s = await consoleSession(m, alice);
      const byAlice = await applied(m.base, memberEdit(IDLE_A, { status: { drain: true } }), { ...alice, ...sameOrigin(m, s) });
      assert.equal(memberOf(byAlice.overview, IDLE_A)!.status.drain, true);

      // A bearer token is never sent by a browser on its own: no session, token or origin needed.
      const byToken = await applied(m.base, memberEdit(IDLE_B, { loadfactor: 5 }), { ...bearer(token), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
      assert.equal(memberOf(byToken.overview, IDLE_B)!.loadfactor, 5);

      // The audit trail: who, when, what, before and after, in the API and in the log file.
      const started = Date.now() - 60_000;
      const { entries } = JSON.parse((await request(`${m.base}/api/v1/audit`, { headers: alice })).body) as { entries: AuditEntry[] };
      assert.equal(entries.length, 2);
      const [first, second] = entries as [AuditEntry, AuditEntry];
      assert.equal(first.user, 'alice');
      assert.equal(first.ip, '127.0.0.1');
      assert.ok(Date.parse(first.time) >= started && Date.parse(first.time) <= Date.now(), first.time);
      assert.deepEqual(first.edit, memberEdit(IDLE_A, { status: { drain: true } }));
      assert.deepEqual(first.before, { url: IDLE_A, route: 'a', redirect: '', loadfactor: 1, lbset: 0, status: '' });
      assert.deepEqual(first.after, { url: IDLE_A, route: 'a', redirect: '', loadfactor: 1, lbset: 0, status: 'N' });
      assert.equal(second.user, 'token');
      assert.deepEqual(second.edit, memberEdit(IDLE_B, { loadfactor: 5 }));
      assert.deepEqual([(second.before as { loadfactor: number }).loadfactor, (second.after as { loadfactor: number }).loadfactor], [1, 5]);
      const lines = readFileSync(auditLog, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEntry);
      assert.deepEqual(lines, entries, 'the audit log file holds the same entries as /api/v1/audit');
      // Refused and forged attempts are not changes and leave no entry.
      assert.ok(lines.every((e) => e.user === 'alice' || e.user === 'token'));
    } finally {
      await m.close();
    }
  });

  test('five wrong passwords, then 429 with Retry-After, even for the right one', async () => {
    const m = await managed([member(IDLE_A)], { manager: { htpasswdFile } });
    try {
      for (let i = 1; i <= 5; i++) {
        const r = await request(`${m.base}/api/v1/balancers`, { headers: basic('alice', `guess ${i}`) });
        assert.equal(r.status, 401, `wrong password ${i}`);
      }
      const limited = await request(`${m.base}/api/v1/balancers`, { headers: basic('alice', password) });
      assert.equal(limited.status, 429, limited.body);
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${limited.headers['retry-after']}`);
      assertSecurityHeaders(limited, 'the 429');
      assert.match(JSON.parse(limited.body).error, /too many failed logins/);
    } finally {
      await m.close();
    }
  });

  test('exposed on 0.0.0.0 with no access rule and no authentication: refused at startup, naming file:line', async () => {
    const port = await freePort();
    const config = engineConfig(port, { members: [member(IDLE_A)] });
    config.listeners = [{ source: SOURCE, host: '0.0.0.0', port, tls: true }];
    config.virtualHosts[0]!.locations = [{ source: { file: 'exposed.conf', line: 17 }, path: MOUNT, handler: 'balancer-manager', access: [] }];
    const stickler = new Stickler(config);
    await assert.rejects(stickler.start(), (err: unknown) => {
      assert.ok(err instanceof StartupError, String(err));
      assert.match(err.message, new RegExp(`^exposed\\.conf:17: balancer-manager: /balancer-manager would be open to anyone who reaches 0\\.0\\.0\\.0:${port}, with no access rule and no authentication`));
      return true;
    });
    await stickler.close();
    // Either safeguard alone makes it acceptable (checked without binding 0.0.0.0).
    const restricted = structuredClone(config);
    restricted.virtualHosts[0]!.locations = [requireLocal()];
    assert.deepEqual(managerAuth(restricted).problems, []);
    const authenticated = { ...structuredClone(config), manager: { source: SOURCE, htpasswdFile } };
    assert.deepEqual(managerAuth(authenticated).problems, []);

    // The same from a real file through the CLI: refused as an invalid configuration (exit 2), as --check refuses it.
    const file = scratchFile('exposed.yaml', yamlConfig(await freePort(), [{ url: IDLE_A, route: 'a' }], { top: `manager:\n  host: 0.0.0.0\n  port: ${await freePort()}` }));
    const run = await promisify(execFile)(process.execPath, [CLI, '--config', file], { timeout: 15_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: balancer-manager: /balancer-manager would be open to anyone`));
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('manager controls: their effect on real traffic', () => {
  const backends: Record<string, Backend> = {};
  before(async () => {
    for (const name of ['a', 'b', 'c']) backends[name] = await backend(name);
  });
  after(() => {
    for (const b of Object.values(backends)) b.close();
  });

  /** Stickler in front of the named members (route = name), an admin session, and a way to count who answers. */
  async function cluster(names: string[], body: (c: {
    m: Managed;
    edit: (edit: unknown) => Promise<ManagerOverview>;
    /** `count` sequential requests (with a JSESSIONID cookie for `route` when given): answers by member name. */
    send: (count: number, route?: string) => Promise<Record<string, number>>;
  }) => Promise<void>): Promise<void> {
    const m = await managed(names.map((n) => member(backends[n]!.url, { route: n })));
    const agent = keepAliveAgent();
    try {
      const s = await consoleSession(m);
      const send = async (count: number, route?: string) => {
        const seen: Record<string, number> = {};
        for (let i = 0; i < count; i++) {
          const r = await request(`${m.origin}/app`, { agent, ...(route && { headers: { cookie: `JSESSIONID=s${i}.${route}` } }) });
          assert.equal(r.status, 200, `request ${i}${route ? ` sticky to ${route}` : ''}: ${r.body.slice(0, 200)}`);
          seen[r.body] = (seen[r.body] ?? 0) + 1;
        }
        return seen;
      };
      await body({ m, send, edit: async (e) => (await applied(m.base, e, sameOrigin(m, s))).overview });
    } finally {
      agent.destroy();
      await m.close();
    }
  }
  const url = (name: string) => backends[name]!.url;

  test('disabled: no new requests and no sticky ones; sessions on it fail over', async () => {
    await cluster(['a', 'b', 'c'], async ({ send, edit }) => {
      assert.deepEqual(await send(3, 'b'), { b: 3 }, 'before: sticky requests reach b');
      const o = await edit(memberEdit(url('b'), { status: { disabled: true } }));
      assert.equal(memberOf(o, url('b'))!.usable, false);
      assert.deepEqual(await send(12), { a: 6, c: 6 });
      const sticky = await send(6, 'b');
      assert.equal(sticky.b, undefined, `sticky requests for b went to ${JSON.stringify(sticky)}`);
      await edit(memberEdit(url('b'), { status: { disabled: false } }));
      assert.deepEqual(await send(3, 'b'), { b: 3 }, 'enabled again: its sessions come back');
    });
  });

  test('drain: no new sessions, sticky requests still served', async () => {
    await cluster(['a', 'b', 'c'], async ({ send, edit }) => {
      const o = await edit(memberEdit(url('b'), { status: { drain: true } }));
      assert.equal(memberOf(o, url('b'))!.status.drain, true);
      assert.deepEqual(await send(12), { a: 6, c: 6 });
      assert.deepEqual(await send(6, 'b'), { b: 6 });
    });
  });

  test('stopped: takes nothing; sessions on it fail over', async () => {
    await cluster(['a', 'b'], async ({ send, edit }) => {
      await edit(memberEdit(url('b'), { status: { stopped: true } }));
      assert.deepEqual(await send(6), { a: 6 });
      assert.deepEqual(await send(6, 'b'), { a: 6 });
    });
  });

  test('hot standby: used only when every other member is unusable', async () => {
    await cluster(['a', 'b', 'c'], async ({ send, edit }) => {
      await edit(memberEdit(url('c'), { status: { hotStandby: true } }));
      assert.deepEqual(await send(12), { a: 6, b: 6 });
      await edit(memberEdit(url('a'), { status: { disabled: true } }));
      assert.deepEqual(await send(6), { b: 6 }, 'one ordinary member left: the standby still waits');
      await edit(memberEdit(url('b'), { status: { stopped: true } }));
      assert.deepEqual(await send(6), { c: 6 }, 'no ordinary member left: the standby serves');
      await edit(memberEdit(url('a'), { status: { disabled: false } }));
      assert.deepEqual(await send(6), { a: 6 }, 'back to standby once a member returns');
    });
  });

  test('loadfactor: new requests split by the weights (3:1)', async () => {
    await cluster(['a', 'b'], async ({ send, edit }) => {
      assert.deepEqual(await send(8), { a: 4, b: 4 });
      const o = await edit(memberEdit(url('a'), { loadfactor: 3 }));
      assert.equal(memberOf(o, url('a'))!.loadfactor, 3);
      assert.deepEqual(await send(40), { a: 30, b: 10 });
    });
  });

  test('route: a session cookie carrying the new route goes to the member', async () => {
    await cluster(['a', 'b'], async ({ send, edit }) => {
      const before = await send(4, 'n9');
      assert.ok(before.a && before.b, `an unknown route is balanced: ${JSON.stringify(before)}`);
      await edit(memberEdit(url('b'), { route: 'n9' }));
      assert.deepEqual(await send(6, 'n9'), { b: 6 });
      assert.deepEqual(await send(2, 'a'), { a: 2 }, 'other routes are untouched');
    });
  });

  test('add-member: starts disabled, takes traffic once enabled; remove-member: takes none again', async () => {
    await cluster(['a', 'b'], async ({ m, send, edit }) => {
      const added = await edit({ kind: 'add-member', balancer: 'cluster', url: url('c'), change: { route: 'c' } });
      assert.equal(memberOf(added, url('c'))!.status.disabled, true);
      assert.deepEqual(await send(6), { a: 3, b: 3 });
      assert.equal((await send(3, 'c')).c, undefined, 'a disabled new member takes no sticky request');
      await edit(memberEdit(url('c'), { status: { disabled: false } }));
      assert.deepEqual(await send(9), { a: 3, b: 3, c: 3 });
      assert.deepEqual(await send(3, 'c'), { c: 3 });

      const removed = await edit({ kind: 'remove-member', balancer: 'cluster', member: url('c') });
      assert.equal(memberOf(removed, url('c')), undefined);
      assert.deepEqual(await send(6), { a: 3, b: 3 });
      assert.equal((await send(3, 'c')).c, undefined, 'its sessions fail over');
      const again = await postEdit(m.base, memberEdit(url('c'), { status: { disabled: false } }), sameOrigin(m, await consoleSession(m)));
      assert.equal(again.status, 404, 'a removed member cannot be edited');
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('manager explain: GET P/api/v1/explain, on the live state', () => {
  test('a disabled member and one in error are skipped with their reasons, the JSON log records the same decision with its retry, and no counter moves', async () => {
    const a = await backend('a');
    // Nobody listens here: the first request routed to it is refused, puts it in error, and fails over.
    const dead = `https://127.0.0.1:${await freePort()}`;
    const logFile = scratchFile('access.jsonl');
    const m = await managed([member(a.url, { route: 'a' }), member(dead, { route: 'dead', retry: 600_000 }), member(IDLE_B, { route: 'c' })], { jsonLog: logFile });
    try {
      const s = await consoleSession(m);
      await applied(m.base, memberEdit(IDLE_B, { status: { disabled: true } }), sameOrigin(m, s));
      const sent = await request(`${m.origin}/app`, { headers: { cookie: 'JSESSIONID=s1.dead' } });
      assert.equal(sent.status, 200, sent.body);
      assert.equal(sent.body, 'a');

      const counters = (o: ManagerOverview) => o.balancers[0]!.members.map(({ url, elected, busy, lbstatus, requests }) => ({ url, elected, busy, lbstatus, requests }));
      const before = counters(await overview(m.base));
      const explain = (query: string) => request(`${m.base}/api/v1/explain?${query}`);
      const r = await explain(`url=${encodeURIComponent('/app?x=1')}&cookie=${encodeURIComponent('JSESSIONID=s2.dead')}`);
      assert.equal(r.status, 200, r.body);
      assert.match(r.headers['content-type'] ?? '', /^application\/json/);
      const answer = JSON.parse(r.body) as { decision: { route: unknown; attempts: Array<{ member: string; how: string; skipped: Array<{ member: string; reason: string; until?: string }> }> }; state: string; text: string };
      assert.deepEqual(answer.decision.route, { source: 'cookie', name: 'JSESSIONID', value: 's2.dead', route: 'dead' });
      const [attempt] = answer.decision.attempts;
      assert.equal(attempt!.member, a.url);
      assert.equal(attempt!.how, 'balanced');
      const reasons = Object.fromEntries(attempt!.skipped.map((k) => [k.member, k.reason]));
      assert.deepEqual(reasons, { [dead]: 'error', [IDLE_B]: 'disabled' });
      const until = Date.parse(attempt!.skipped.find((k) => k.member === dead)!.until ?? '');
      assert.ok(until > Date.now() + 500_000, 'in error until its retry time (600 s)');
      assert.equal(answer.state, 'the live state of this Stickler');
      assert.match(answer.text, new RegExp(`^chosen +${a.url} \\(route a\\): no usable member has the session's route dead, so byrequests`, 'm'));
      assert.match(answer.text, new RegExp(`^skipped +${dead} \\(route dead\\): in error until `, 'm'));
      assert.match(answer.text, new RegExp(`^skipped +${IDLE_B} \\(route c\\): disabled`, 'm'));
      assert.deepEqual(counters(await overview(m.base)), before, 'an explain moves no counter of the live balancer');

      assert.equal((await explain('')).status, 400);
      assert.equal((await explain('url=/app&session=x')).status, 400);
      const excluded = await explain(`url=${encodeURIComponent(MOUNT)}`);
      assert.equal(excluded.status, 404);
      assert.match(excluded.body, /excludes it from proxying/);
      assert.equal((await request(`${m.base}/api/v1/explain?url=/app`, { method: 'POST' })).status, 405);

      // The request's own decision, as the JSON log carries it: the route, the refused member, the retry.
      await m.close();
      const line = readFileSync(logFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l)).find((e) => e.target === '/app');
      assert.ok(line, 'the request is logged');
      assert.deepEqual(line.decision.route, { source: 'cookie', name: 'JSESSIONID', value: 's1.dead', route: 'dead' });
      const [first, second] = line.decision.attempts;
      assert.equal(first.member, dead);
      assert.equal(first.how, 'route');
      assert.equal(first.failed[0].then, 'failover');
      assert.equal(second.member, a.url);
      assert.deepEqual(Object.fromEntries(second.skipped.map((k: { member: string; reason: string }) => [k.member, k.reason])), { [dead]: 'error', [IDLE_B]: 'disabled' });
    } finally {
      await m.close();
      a.close();
    }
  });
});

describe('manager state file: restarts and crashes (CLI)', () => {
  const token = 'tok-persist-5d1e9b7f3a2c4e6a8b0d';
  let tokenFile: string;
  before(() => {
    tokenFile = scratchFile('persist-tokens', `${token}\n`);
  });

  /** A YAML file: the proxy on `port` in front of `members`, the manager on `managerPort` with a state file. */
  function yaml(port: number, managerPort: number, members: string[], stateFile: string): string {
    const { certFile, keyFile } = localCertificate();
    const manager = [
      'manager:',
      `  port: ${managerPort}`,
      `  tls: { certificate-file: ${certFile}, key-file: ${keyFile} }`,
      `  token-file: ${tokenFile}`,
      `  state-file: ${stateFile}`,
    ].join('\n');
    return yamlConfig(port, members.map((url, i) => ({ url, route: `r${i}` })), { top: manager });
  }

  /** Runs the CLI on `configFile` for the length of `body`, then stops it; what it wrote to standard error. */
  async function run(configFile: string, managerPort: number, body: (base: string) => Promise<void>): Promise<string> {
    const proc = await startStickler(configFile);
    try {
      await body(`https://127.0.0.1:${managerPort}${MOUNT}`);
    } finally {
      await proc.stop();
    }
    return proc.stderr();
  }

  test('a change survives a restart; a member the file no longer has is dropped, and said so', async () => {
    const stateFile = scratchFile('state.json');
    const [port, managerPort] = [await freePort(), await freePort()];
    const configFile = scratchFile('persist.yaml', yaml(port, managerPort, [IDLE_A, IDLE_B], stateFile));
    const added = 'https://127.0.0.1:11';
    await run(configFile, managerPort, async (base) => {
      await applied(base, memberEdit(IDLE_B, { loadfactor: 4, route: 'bb', status: { drain: true } }), bearer(token));
      await applied(base, { kind: 'add-member', balancer: 'cluster', url: added, change: { route: 'cc' } }, bearer(token));
      await applied(base, { kind: 'balancer', balancer: 'cluster', change: { lbmethod: 'bybusyness' } }, bearer(token));
    });

    await run(configFile, managerPort, async (base) => {
      const o = await overview(base, bearer(token));
      assert.equal(o.persisted, true);
      assert.equal(o.balancers[0]!.lbmethod, 'bybusyness', 'the balancer setting came back');
      const b = memberOf(o, IDLE_B);
      assert.deepEqual(b && [b.loadfactor, b.route, b.status.drain], [4, 'bb', true], 'the member change came back');
      assert.equal(memberOf(o, added)?.status.disabled, true, 'the added member came back, still disabled');
    });

    // The operator removes IDLE_B from the file: its saved changes no longer apply.
    writeFileSync(configFile, yaml(port, managerPort, [IDLE_A], stateFile));
    const stderr = await run(configFile, managerPort, async (base) => {
      const o = await overview(base, bearer(token));
      assert.deepEqual(o.balancers[0]!.members.map((x) => x.url), [IDLE_A, added]);
    });
    assert.match(stderr, new RegExp(`balancer://cluster: member ${IDLE_B} is no longer in the configuration; its manager changes are dropped`));
    const saved = readFileSync(stateFile, 'utf8');
    assert.ok(!saved.includes(IDLE_B), `the state file forgot ${IDLE_B}: ${saved}`);
    assert.ok(saved.includes(added));
  });

  test('SIGKILL while edits are being saved leaves a state file that is the old state or a new one', async () => {
    const stateFile = scratchFile('crash-state.json');
    const [port, managerPort] = [await freePort(), await freePort()];
    const configFile = scratchFile('crash.yaml', yaml(port, managerPort, [IDLE_A, IDLE_B], stateFile));
    const base = `https://127.0.0.1:${managerPort}${MOUNT}`;
    const members = [IDLE_A, IDLE_B];
    for (let round = 0; round < 5; round++) {
      const proc = await startStickler(configFile);
      let stop = false;
      let failure: Error | undefined;
      const acked: Array<string | undefined> = [undefined, undefined];
      const inFlight: Array<string | undefined> = [undefined, undefined];
      // One sequential stream of edits per member, each on its own connection: saves follow each other closely.
      const streams = members.map(async (url, k) => {
        const agent = keepAliveAgent();
        try {
          for (let i = 0; !stop; i++) {
            const route = `k${round}-${i}`;
            inFlight[k] = route;
            const r = await postEdit(base, memberEdit(url, { route }), bearer(token), { agent, timeoutMs: 5_000 });
            if (r.status !== 200) throw new Error(`edit ${route} of ${url}: ${r.status} ${r.body}`);
            acked[k] = route;
          }
        } catch (err) {
          // Once the process is killed, the request in flight fails: that is the point.
          if (!stop) failure = err as Error;
        } finally {
          agent.destroy();
        }
      });
      try {
        await pollUntil(async () => acked.every((a) => a !== undefined && Number(a.split('-')[1]) >= 3), {
          timeoutMs: 10_000,
          intervalMs: 5,
          what: 'edits acknowledged on both members',
          abort: () => failure,
        });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 150));
      } finally {
        stop = true;
        proc.kill();
      }
      await withTimeout(proc.exited, 10_000, 'the killed Stickler exiting');
      await Promise.all(streams);
      if (failure) throw failure;

      const text = readFileSync(stateFile, 'utf8');
      let state: { version: number; balancers: Record<string, { members: Record<string, { route?: string }> }> };
      try {
        state = JSON.parse(text);
      } catch (err) {
        assert.fail(`round ${round}: the state file is not JSON after SIGKILL (${(err as Error).message}): ${text.slice(0, 300)}`);
      }
      assert.equal(state.version, 1);
      members.forEach((url, k) => {
        const route = state.balancers.cluster?.members[url]?.route;
        // The last acknowledged save, or the one in progress when the process died.
        const expected = [acked[k], inFlight[k]];
        assert.ok(expected.includes(route), `round ${round}: ${url} has route ${route} in the file; expected ${expected.join(' or ')}`);
      });
    }
    assert.deepEqual(readdirSync(scratch).filter((f) => f.includes('unreadable')), [], 'no restart found the state file unreadable');
  });
});

// ---------------------------------------------------------------------------------------------------------------

/**
 * Ten HTTPS members and a load generator on a thread of their own, so the main thread only times the scrapes.
 * Messages: {load: {port, paths, concurrency}} starts the load, {stop: true} ends it and answers {stopped: true}.
 */
const LOAD_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const https = require('node:https');
const servers = [];
let running = false;
const loops = [];
(async () => {
  for (let i = 0; i < workerData.members; i++) {
    const server = https.createServer({ cert: workerData.cert, key: workerData.key, keepAliveTimeout: 30000 }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('m' + i));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  parentPort.postMessage({ urls: servers.map((s) => 'https://127.0.0.1:' + s.address().port) });
})();
function loop(port, path, agent) {
  return new Promise((resolve) => {
    const next = () => {
      if (!running) return resolve();
      const req = https.get({ host: '127.0.0.1', port, path, agent, rejectUnauthorized: false }, (res) => {
        res.resume();
        res.on('end', next);
      });
      req.on('error', () => setTimeout(next, 10));
    };
    next();
  });
}
parentPort.on('message', async (message) => {
  if (message.load) {
    running = true;
    const { port, paths, concurrency } = message.load;
    for (let c = 0; c < concurrency; c++) {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      loops.push(loop(port, paths[c % paths.length], agent).then(() => agent.destroy()));
    }
  } else if (message.stop) {
    running = false;
    await Promise.all(loops);
    for (const s of servers) { s.close(); s.closeAllConnections(); }
    parentPort.postMessage({ stopped: true });
  }
});
`;

describe('manager /metrics under load (CLI)', () => {
  test('time to serve /metrics with 2 balancers x 10 members while traffic runs', async (t) => {
    const { cert, certFile, keyFile } = localCertificate();
    const key = readFileSync(keyFile, 'utf8');
    const worker = new Worker(LOAD_THREAD, { eval: true, workerData: { members: 10, cert, key } });
    const message = <T>(what: string) => withTimeout(new Promise<T>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }), 15_000, what);
    let proc: SticklerProcess | undefined;
    try {
      const { urls } = await message<{ urls: string[] }>('the members starting');
      const [port, managerPort] = [await freePort(), await freePort()];
      const balancer = (name: string) => `  ${name}:\n    members:\n${urls.map((u, i) => `      - url: ${u}\n        route: ${name}${i}`).join('\n')}`;
      const configFile = scratchFile('metrics.yaml', `listeners:
  - host: 127.0.0.1
    port: ${port}
virtual-hosts:
  - port: ${port}
    server-name: localhost
    tls: { certificate-file: ${certFile}, key-file: ${keyFile} }
    backend-tls: { verify: none }
    routes:
      - path: /one
        balancer: one
      - path: /two
        balancer: two
balancers:
${balancer('one')}
${balancer('two')}
manager:
  port: ${managerPort}
  tls: { certificate-file: ${certFile}, key-file: ${keyFile} }
`);
      proc = await startStickler(configFile);
      const agent = keepAliveAgent();
      const metricsUrl = `https://127.0.0.1:${managerPort}${MOUNT}/metrics`;
      const scrape = async () => {
        const started = performance.now();
        const r = await request(metricsUrl, { agent });
        const ms = performance.now() - started;
        assert.equal(r.status, 200);
        return { ms, text: r.body };
      };
      const series = (text: string) => text.split('\n').filter((l) => l.startsWith('stickler_member_requests_total{'));
      const requestsTotal = (text: string) => series(text).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
      try {
        // The first scrapes pay for the TLS handshake and a cold JIT.
        assert.equal(series((await scrape()).text).length, 20, 'a requests_total series for every member of both balancers');
        for (let i = 0; i < 5; i++) await scrape();
        const idle: number[] = [];
        for (let i = 0; i < 20; i++) idle.push((await scrape()).ms);

        worker.postMessage({ load: { port, paths: ['/one/x', '/two/x'], concurrency: 16 } });
        await new Promise((resolve) => setTimeout(resolve, 500));
        const loadStart = performance.now();
        const first = requestsTotal((await scrape()).text);
        const loaded: number[] = [];
        let last = '';
        for (let i = 0; i < 50; i++) {
          const s = await scrape();
          loaded.push(s.ms);
          last = s.text;
        }
        const seconds = (performance.now() - loadStart) / 1000;
        const proxied = requestsTotal(last) - first;
        worker.postMessage({ stop: true });
        await message<{ stopped: true }>('the load stopping');
        assert.ok(proxied > 0, 'the counters moved while scraping');

        const stats = (xs: number[]) => {
          const sorted = [...xs].sort((x, y) => x - y);
          const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
          return `mean ${(xs.reduce((s, x) => s + x, 0) / xs.length).toFixed(2)} ms, p50 ${pick(0.5).toFixed(2)} ms, p95 ${pick(0.95).toFixed(2)} ms`;
        };
        const figure = `/metrics, 2 balancers x 10 members: idle ${stats(idle)}; under load (${Math.round(proxied / seconds)} proxied req/s) ${stats(loaded)} per scrape`;
        t.diagnostic(figure);
        const mean = loaded.reduce((s, x) => s + x, 0) / loaded.length;
        assert.ok(mean < 1_000, `a scrape under load takes ${mean.toFixed(1)} ms on average; expected well under a second`);
      } finally {
        agent.destroy();
      }
    } finally {
      await proc?.stop();
      await worker.terminate();
    }
  });
});

after(() => rmSync(scratch, { recursive: true, force: true }));

/** The console's session search: the id in a JSON body, never in the URL. */
function searchRoute(base: string, body: { balancer: string; session: string }, headers: Record<string, string> = {}): Promise<HttpsResponse> {
  return request(`${base}/api/v1/route`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
