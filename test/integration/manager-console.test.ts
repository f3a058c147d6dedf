// The manager's live console in a real browser (Debian's Chromium driven by playwright-core), in front of two
// real HTTPS backends with a load loop running: changes made through the page must change the traffic, the page
// must follow changes made elsewhere within its push interval, and hostile values must stay text. Every page is
// watched for dialogs, script errors and console errors (CSP violations land there) for the whole file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserSkip, launchBrowser, watchPage } from '../support/browser.ts';
import { keepAliveAgent, request } from '../support/client.ts';
import { engineConfig, localCertificate, member } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';
import { Stickler } from '../../src/server/server.ts';

// The README's screenshot is refreshed with UPDATE_SCREENSHOT=1; a normal run leaves the committed one alone.
const screenshot = fileURLToPath(new URL(process.env.UPDATE_SCREENSHOT === '1' ? '../../docs/manager-console.png' : '../../.stickler/manager-console.png', import.meta.url));
const MOUNT = '/balancer-manager';
const source = { file: 'manager-console.test.ts', line: 1 };
const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SVG = `"'><svg onload=alert(1)>`;

/** A backend like Tomcat with jvmRoute: answers with its name, starts a session `<id>.<name>` when there is none. */
interface Backend {
  name: string;
  url: string;
  server: https.Server;
  /**
   * Requests without a session cookie, with one of its own sessions, with another member's session; only those the
   * load sent at or after `since` (a Date.now()), so a request already on its way when the counts were reset is not
   * blamed on what came after.
   */
  counts: { fresh: number; own: number; foreign: number; since: number };
}

async function backend(name: string): Promise<Backend> {
  const { certFile, keyFile } = localCertificate();
  const counts = { fresh: 0, own: 0, foreign: 0, since: 0 };
  let sessions = 0;
  const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 30_000 }, (req, res) => {
    const session = /(?:^|;\s*)JSESSIONID=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const counted = Number(req.headers['x-sent-at'] ?? 0) >= counts.since;
    if (!session) {
      if (counted) counts.fresh++;
      res.setHeader('Set-Cookie', `JSESSIONID=${(++sessions).toString(36)}${Math.random().toString(36).slice(2, 10)}.${name}; Path=/; HttpOnly`);
    } else if (counted) {
      if (session.endsWith(`.${name}`)) counts.own++;
      else counts.foreign++;
    }
    res.setHeader('Content-Type', 'text/plain');
    res.end(`${name}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server, counts };
}

/**
 * Traffic while the tests run: new sessions (no cookie), and when `sticky` is on, as many requests again carrying
 * the latest session each member handed out.
 */
class Load {
  sticky = false;
  readonly sessions = new Map<string, string>();
  errors = 0;
  private running = true;
  private readonly loops: Array<Promise<void>>;

  constructor(origin: string, workers: number, pauseMs: number) {
    this.loops = Array.from({ length: workers }, (_, i) => this.loop(origin, i, pauseMs));
  }

  private async loop(origin: string, worker: number, pauseMs: number): Promise<void> {
    const agent = keepAliveAgent();
    try {
      for (let n = worker; this.running; n++) {
        const route = n % 2 === 1 && this.sticky ? [...this.sessions.keys()][(n >> 1) % this.sessions.size] : undefined;
        const headers: Record<string, string> = { 'x-sent-at': String(Date.now()), ...(route && { cookie: `JSESSIONID=${this.sessions.get(route)}` }) };
        try {
          const answer = await request(`${origin}/app`, { agent, headers, timeoutMs: 5_000 });
          const issued = /JSESSIONID=([^;]+)/.exec(String(answer.headers['set-cookie'] ?? ''))?.[1];
          if (issued) this.sessions.set(issued.slice(issued.lastIndexOf('.') + 1), issued);
          if (answer.status !== 200) this.errors++;
        } catch {
          this.errors++;
        }
        await sleep(pauseMs);
      }
    } finally {
      agent.destroy();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

interface Watched {
  page: Page;
  problems: string[];
}

describe('manager console in Chromium', { skip: browserSkip }, () => {
  let a: Backend;
  let b: Backend;
  let c: Backend;
  let stickler: Stickler;
  let origin: string;
  let load: Load;
  let browser: Browser;
  let context: BrowserContext;
  let other: BrowserContext;
  let main: Watched;
  const watched: Watched[] = [];
  const dialogs: string[] = [];

  /** A console page whose dialogs, script errors and console errors are all recorded. */
  async function openConsole(ctx: BrowserContext): Promise<Watched> {
    const page = await ctx.newPage();
    const w: Watched = { page, problems: watchPage(page, dialogs) };
    watched.push(w);
    await page.goto(`${origin}${MOUNT}/console`, { timeout: 10_000 });
    await page.locator(rowOf(a)).waitFor({ timeout: 5_000 });
    return w;
  }

  const rowOf = (m: Backend) => `tr[data-member="${m.url}"]`;
  const cell = (page: Page, m: Backend, field: string) => page.locator(`${rowOf(m)} [data-field="${field}"]`);

  /** Several members' shown values read in one go, so they all come from the same pushed snapshot. */
  function shown(page: Page, field: string): Promise<Record<string, string>> {
    return page.evaluate((f) => {
      const out: Record<string, string> = {};
      for (const row of document.querySelectorAll('tr[data-member]')) out[row.getAttribute('data-member')!] = row.querySelector(`[data-field="${f}"]`)!.textContent!;
      return out;
    }, field);
  }
  const count = (text: string | undefined) => Number((text ?? '').replace(/[^\d.]/g, ''));

  /** An edit through the JSON API with the page's own session and CSRF token, as a script on the page would. */
  async function apiEdit(page: Page, edit: object): Promise<void> {
    const answer = await page.evaluate(async (body) => {
      const base = document.querySelector('meta[name="manager-base"]')!.getAttribute('content');
      const token = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const r = await fetch(`${base}/api/v1/edits`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token }, body: JSON.stringify(body) });
      return { status: r.status, text: await r.text() };
    }, edit);
    assert.equal(answer.status, 200, `edit ${JSON.stringify(edit)}: ${answer.text}`);
  }

  async function resetMembers(): Promise<void> {
    for (const m of [a, b]) {
      const change = { status: { drain: false, disabled: false, stopped: false, hotStandby: false, hotSpare: false }, loadfactor: 1, lbset: 0, route: m.name, redirect: '' };
      await apiEdit(main.page, { kind: 'member', balancer: 'cluster', member: m.url, change });
    }
  }

  /** Opens the member's inline form and sets the fields; the returned function applies them. */
  async function fillEditor(page: Page, m: Backend, fields: Record<string, string>): Promise<() => Promise<void>> {
    await page.locator(`${rowOf(m)} [data-action="edit"]`).click({ timeout: 5_000 });
    const form = page.locator(`form[aria-label="Change ${m.url}"]`);
    for (const [name, value] of Object.entries(fields)) await form.locator(`[name="${name}"]`).fill(value, { timeout: 5_000 });
    return async () => {
      await form.getByRole('button', { name: 'Apply' }).click({ timeout: 5_000 });
      await form.waitFor({ state: 'hidden', timeout: 5_000 });
    };
  }

  /** Changes a member through its inline form; resolves once the page closed the form on success. */
  async function editInPage(page: Page, m: Backend, fields: Record<string, string>): Promise<void> {
    await (await fillEditor(page, m, fields))();
  }

  const latestResult = (page: Page) => page.locator('#results li').first();

  function assertPagesClean(): void {
    assert.deepEqual(dialogs, [], 'no dialog may ever open');
    for (const w of watched) assert.deepEqual(w.problems, [], `the console logged problems on ${w.page.url()}`);
  }

  before(async () => {
    [a, b, c] = await Promise.all([backend('a'), backend('b'), backend('c')]);
    const port = await freePort();
    origin = `https://127.0.0.1:${port}`;
    const config = engineConfig(port, {
      members: [member(a.url, { route: 'a' }), member(b.url, { route: 'b' })],
      vhost: { locations: [{ source, path: MOUNT, handler: 'balancer-manager', access: [{ kind: 'require', source, negate: false, match: 'local' }] }] },
    });
    stickler = new Stickler(config);
    await stickler.start();
    load = new Load(origin, 3, 8);
    browser = await launchBrowser();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    other = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    main = await openConsole(context);
  });

  after(async () => {
    await browser?.close();
    await load?.stop();
    await stickler?.close();
    for (const m of [a, b, c]) m?.server.close();
  });

  test('a loadfactor changed in the page moves new sessions to 3:1 in the live figures', async () => {
    const { page } = main;
    await resetMembers();
    load.sticky = false;
    /** How the page's elected counts grew over `ms`, as a:b. */
    const split = async (ms: number) => {
      const start = await shown(page, 'elected');
      await sleep(ms);
      const end = await shown(page, 'elected');
      const grown = (m: Backend) => count(end[m.url]) - count(start[m.url]);
      assert.ok(grown(a) > 20 && grown(b) > 5, `traffic shows in the page: a +${grown(a)}, b +${grown(b)}`);
      return grown(a) / grown(b);
    };
    await sleep(1_200);
    const evenly = await split(2_100);
    assert.ok(evenly > 0.7 && evenly < 1.4, `equal loadfactors share evenly; the page shows a:b = ${evenly.toFixed(2)}`);

    await editInPage(page, a, { loadfactor: '3' });
    await assert.doesNotReject(latestResult(page).filter({ hasText: 'loadfactor: 1 → 3' }).waitFor({ timeout: 5_000 }), 'the page confirms the change');
    assert.equal(await cell(page, a, 'loadfactor').textContent(), '3');
    await sleep(1_200);
    const weighted = await split(3_100);
    assert.ok(weighted > 2.4 && weighted < 3.6, `loadfactor 3 against 1 gives 3:1; the page shows a:b = ${weighted.toFixed(2)}`);
    const rates = await shown(page, 'rps');
    assert.ok(count(rates[a.url]) > 1.5 * count(rates[b.url]), `requests/s follow: a ${rates[a.url]}, b ${rates[b.url]}`);
    assertPagesClean();
  });

  test('draining b in the page: new sessions avoid b, its sticky sessions stay on it', async () => {
    const { page } = main;
    await resetMembers();
    load.sticky = true;
    await pollUntil(async () => load.sessions.has('a') && load.sessions.has('b'), { timeoutMs: 5_000, what: 'the load holding a session on each member' });

    const drain = page.locator(`${rowOf(b)} [data-action="drain"]`);
    await drain.click({ timeout: 5_000 });
    await cell(page, b, 'status').filter({ hasText: 'draining' }).waitFor({ timeout: 5_000 });
    assert.equal(await drain.getAttribute('aria-pressed'), 'true');
    await assert.doesNotReject(latestResult(page).filter({ hasText: 'status: active → drain' }).waitFor({ timeout: 5_000 }), 'the page confirms the drain');
    await pollUntil(async () => count(await drain.locator('.count').textContent() ?? '') > 0, { timeoutMs: 3_000, what: "the drain button showing b's sticky sessions" });

    // From now on: requests already on their way when the drain landed are not counted.
    for (const m of [a, b]) Object.assign(m.counts, { fresh: 0, own: 0, foreign: 0, since: Date.now() });
    await sleep(2_000);
    assert.equal(b.counts.fresh, 0, 'a draining member takes no new session');
    assert.ok(a.counts.fresh > 20, `new sessions all went to a (${a.counts.fresh})`);
    assert.ok(b.counts.own > 10, `b still serves its own sessions (${b.counts.own})`);
    assert.equal(a.counts.foreign, 0, "none of b's sessions moved to a");
    // Still draining in the page a few snapshots later, with b's sticky traffic showing.
    assert.match((await cell(page, b, 'status').textContent())!, /draining/);
    assert.ok(count((await shown(page, 'rps'))[b.url]) > 0, "b's sticky requests still show in its requests/s");
    // Drain until empty: the Sessions cell counts b's sessions still active and says when the last one came.
    const sessions = cell(page, b, 'sessions');
    assert.match((await sessions.textContent())!, /^[1-9][\d,]* active, last /);
    assert.match((await sessions.getAttribute('title'))!, /^session [0-9a-f]{8}: last request /);

    await page.locator(`${rowOf(b)} [data-action="drain"]`).click({ timeout: 5_000 });
    await cell(page, b, 'status').filter({ hasText: 'OK' }).waitFor({ timeout: 5_000 });
    b.counts.fresh = 0;
    await pollUntil(async () => b.counts.fresh > 0, { timeoutMs: 3_000, what: 'b taking new sessions again once undrained' });
    assertPagesClean();
  });

  test('hostile routes are shown as text and never run', async () => {
    const { page } = main;
    await resetMembers();
    await apiEdit(page, { kind: 'member', balancer: 'cluster', member: b.url, change: { route: XSS_IMG } });
    await pollUntil(async () => (await cell(page, b, 'route').textContent()) === XSS_IMG, { timeoutMs: 4_000, what: 'the page showing the route set through the API' });
    const auditCell = page.locator('#audit-rows td', { hasText: `route: "b" → "${XSS_IMG}"` });
    await assert.doesNotReject(auditCell.first().waitFor({ timeout: 4_000 }), 'the audit panel shows the change as text');

    // The inline form gets the value back as a value, and the next route goes in through the page.
    await page.locator(`${rowOf(b)} [data-action="edit"]`).click({ timeout: 5_000 });
    assert.equal(await page.locator(`form[aria-label="Change ${b.url}"] [name="route"]`).inputValue(), XSS_IMG);
    await page.locator(`form[aria-label="Change ${b.url}"]`).getByRole('button', { name: 'Cancel' }).click({ timeout: 5_000 });
    await editInPage(page, b, { route: XSS_SVG });
    await assert.doesNotReject(latestResult(page).filter({ hasText: XSS_SVG.slice(1) }).waitFor({ timeout: 5_000 }), 'the result shows the new route literally');
    assert.equal(await cell(page, b, 'route').textContent(), XSS_SVG);
    await pollUntil(async () => (await cell(page, b, 'route').textContent()) === XSS_SVG && (await page.locator('#audit-rows').textContent())!.includes(XSS_SVG.slice(1)), {
      timeoutMs: 4_000,
      what: 'the route surviving the next pushed snapshot and reaching the audit panel',
    });
    // b's new sessions still carry `.b`: the page flags the mismatch, the hostile route in it as text too.
    const mismatch = page.locator(`${rowOf(b)} [data-field="route-mismatch"]`);
    await assert.doesNotReject(mismatch.filter({ hasText: `route mismatch: issues b, configured ${XSS_SVG}` }).waitFor({ timeout: 5_000 }),
      'the route-mismatch flag on b');
    assert.equal(await page.locator(`${rowOf(a)} [data-field="route-mismatch"]`).isVisible(), false, 'a, whose sessions match, is not flagged');
    await sleep(1_200); // one more snapshot rendered with both values on the page
    assert.equal(await page.locator('img, svg, iframe, object, embed').count(), 0, 'no element was made from a route');
    assertPagesClean();
    await resetMembers();
  });

  test('a change made in one console shows in another within the push interval', async () => {
    const watcher = await openConsole(other);
    await resetMembers();
    const latencies: number[] = [];
    for (const loadfactor of [2, 5, 3, 4, 1]) {
      await sleep(Math.random() * 1_000); // land anywhere between two pushed snapshots
      const seen = watcher.page.waitForFunction(
        ([selector, expected]) => document.querySelector(selector!)?.textContent === expected,
        [`${rowOf(b)} [data-field="loadfactor"]`, String(loadfactor)],
        { polling: 10, timeout: 5_000 },
      );
      const apply = await fillEditor(main.page, b, { loadfactor: String(loadfactor) });
      const started = Date.now();
      await apply();
      await seen;
      latencies.push(Date.now() - started);
    }
    const sorted = [...latencies].sort((x, y) => x - y);
    console.log(`console update latency (Apply clicked in one browser context → visible in another): median ${sorted[2]} ms, max ${sorted[4]} ms, samples ${latencies.join(', ')} ms`);
    assert.ok(sorted[4]! < loadedBound(1_000), `every change showed within ${loadedBound(1_000)} ms (pushed once a second): ${latencies.join(', ')} ms`);
    assertPagesClean();
  });

  test('a member added, enabled and removed, and a balancer setting changed, in the page; screenshot with traffic flowing', async () => {
    const { page } = main;
    await resetMembers();
    load.sticky = true;
    const card = page.locator('section[data-balancer="cluster"]');
    await card.getByRole('button', { name: 'Add member' }).click({ timeout: 5_000 });
    const form = page.locator('form[aria-label="Add a member to balancer://cluster"]');
    await form.getByLabel('URL').fill(c.url, { timeout: 5_000 });
    await form.getByLabel('Route').fill('c', { timeout: 5_000 });
    await form.getByLabel('Load factor').fill('2', { timeout: 5_000 });
    await form.getByRole('button', { name: 'Add' }).click({ timeout: 5_000 });
    await cell(page, c, 'status').filter({ hasText: 'disabled' }).waitFor({ timeout: 5_000 });
    assert.match((await latestResult(page).textContent())!, /added/);

    // Adding it twice is refused, and the page says why.
    await card.getByRole('button', { name: 'Add member' }).click({ timeout: 5_000 });
    await form.getByLabel('URL').fill(c.url, { timeout: 5_000 });
    await form.getByRole('button', { name: 'Add' }).click({ timeout: 5_000 });
    await assert.doesNotReject(latestResult(page).filter({ hasText: 'already has a member' }).waitFor({ timeout: 5_000 }), 'the error text is shown');
    assert.match((await latestResult(page).getAttribute('class'))!, /result-error/);
    // The browser logs the refused request as a failed resource load; that one is expected.
    main.problems = main.problems.filter((p) => !(p.includes('status of 409') && p.includes('/api/v1/edits')));
    await form.getByRole('button', { name: 'Cancel' }).click({ timeout: 5_000 });

    await page.locator(`${rowOf(c)} [data-action="toggle"]`).click({ timeout: 5_000 });
    await cell(page, c, 'status').filter({ hasText: 'OK' }).waitFor({ timeout: 5_000 });
    await pollUntil(async () => count(await cell(page, c, 'elected').textContent() ?? '') > 20 && c.counts.fresh > 0, {
      timeoutMs: 5_000,
      what: 'the page showing traffic to the new member',
    });
    // The balancer's own settings, through its form.
    await card.getByRole('button', { name: 'Settings' }).click({ timeout: 5_000 });
    const settings = page.locator('form[aria-label="Settings of balancer://cluster"]');
    await settings.getByLabel('Timeout (s)').fill('5', { timeout: 5_000 });
    await settings.getByRole('button', { name: 'Apply' }).click({ timeout: 5_000 });
    await assert.doesNotReject(latestResult(page).filter({ hasText: 'timeoutMs: none → 5 s' }).waitFor({ timeout: 5_000 }), 'the page confirms the new timeout');
    await settings.waitFor({ state: 'hidden', timeout: 5_000 });
    assert.match((await card.locator('.facts').textContent())!, /Timeout5 s/);

    await sleep(4_000); // a few seconds of history in every chart
    assert.equal(await page.locator(`${rowOf(c)} canvas`).count(), 1, 'the new member has its chart');
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot, timeout: 10_000 });

    const remove = page.locator(`${rowOf(c)} [data-action="remove"]`);
    await remove.click({ timeout: 5_000 });
    assert.equal(await remove.textContent(), 'Confirm remove', 'removal asks for a confirmation first');
    assert.equal(await page.locator(rowOf(c)).count(), 1);
    await remove.click({ timeout: 5_000 });
    await page.locator(rowOf(c)).waitFor({ state: 'detached', timeout: 5_000 });
    assert.match((await latestResult(page).textContent())!, /removed/);
    assertPagesClean();
  });

  test('an instance that cannot reach Redis says so on its console, and an edit made there is refused with the reason', async () => {
    const port = await freePort();
    // Nothing listens there: the instance starts while its Redis is out of reach, as after a network cut.
    const redisPort = await freePort();
    const cut = new Stickler({
      ...engineConfig(port, {
        members: [member(a.url, { route: 'a' }), member(b.url, { route: 'b' })],
        vhost: { locations: [{ source, path: MOUNT, handler: 'balancer-manager', access: [{ kind: 'require', source, negate: false, match: 'local' }] }] },
      }),
      sharedState: { url: `redis://127.0.0.1:${redisPort}/0`, keyPrefix: 'console-test:', instance: 'lb-cut' },
    });
    await cut.start();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('dialog', (dialog) => (dialogs.push(`${dialog.type()}: ${dialog.message()}`), dialog.dismiss().catch(() => {})));
    try {
      await page.goto(`https://127.0.0.1:${port}${MOUNT}/console`, { timeout: 10_000 });
      const banner = page.locator('#shared-state');
      await assert.doesNotReject(banner.filter({ hasText: 'Shared state unreachable: instance lb-cut cannot reach Redis' }).waitFor({ timeout: 5_000 }),
        'the banner names the instance and says it cannot reach Redis');
      assert.equal(await banner.getAttribute('role'), 'alert');
      // Applied by hand: the form stays open when the edit is refused.
      await fillEditor(page, a, { loadfactor: '4' });
      await page.locator(`form[aria-label="Change ${a.url}"]`).getByRole('button', { name: 'Apply' }).click({ timeout: 5_000 });
      await assert.doesNotReject(latestResult(page).filter({ hasText: 'unreachable' }).waitFor({ timeout: 5_000 }), 'the refusal and its reason shown in the page');
      assert.match((await cell(page, a, 'loadfactor').textContent())!, /^1/, 'nothing changed');
      assert.deepEqual(errors, []);
      assertPagesClean();
    } finally {
      await page.close();
      await cut.close();
    }
  });
});
