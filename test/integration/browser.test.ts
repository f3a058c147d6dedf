// A real browser (Debian's Chromium, driven by playwright-core) on the embedded demo: it speaks HTTP/2 to
// Stickler, keeps its session cookie, and so stays on one demo node while the hit counter climbs; and the manager
// console it opens shows the traffic that came before it, and finds the member of a session id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { browserSkip as skip, launchBrowser as launch } from '../support/browser.ts';
import { CookieJar, request } from '../support/client.ts';
import { freePort } from '../support/ports.ts';
import { spawnManaged } from '../support/process.ts';
import { CLI } from '../support/stickler.ts';

const screenshots = fileURLToPath(new URL('../../.stickler/screenshots/', import.meta.url));

test('Chromium on the demo: HTTP/2, a sticky session, the counter going up', { skip }, async () => {
  const port = await freePort();
  const demo = spawnManaged('demo-browser', process.execPath, [CLI, '--port', String(port), '--manager-port', String(await freePort())]);
  const browser = await launch();
  try {
    await demo.waitForStdout((out) => out.includes('\nready\n'), 30_000, 'printing ready');
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const url = `https://localhost:${port}/`;
    await page.goto(url, { timeout: 15_000 });
    const node = (await page.textContent('h1'))!.replace('Answered by ', '').trim();
    assert.match(node, /^node[12]$/);
    assert.equal(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol), 'h2');
    // The browser also asks for /favicon.ico within the session, so the count grows by at least one per load.
    const hits = async () => Number(/request (\d+) of this session/.exec((await page.textContent('body'))!)![1]);
    let last = await hits();
    for (let i = 0; i < 3; i++) {
      await page.reload({ timeout: 15_000 });
      assert.equal((await page.textContent('h1'))!.replace('Answered by ', '').trim(), node);
      const now = await hits();
      assert.ok(now > last, `the session's count went from ${last} to ${now}`);
      last = now;
    }
    const cookies = await context.cookies(url);
    assert.match(cookies.find((c) => c.name === 'JSESSIONID')?.value ?? '', new RegExp(`\\.${node}$`));
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}demo.png` });
  } finally {
    await browser.close();
    await demo.stop(5_000);
  }
});

test('the console opened after the traffic shows its rate and latency at once, and finds the member of a session id', { skip }, async () => {
  const port = await freePort();
  const managerPort = await freePort();
  const demo = spawnManaged('demo-console', process.execPath, [CLI, '--port', String(port), '--manager-port', String(managerPort)]);
  const browser = await launch();
  try {
    await demo.waitForStdout((out) => out.includes('\nready\n'), 30_000, 'printing ready');
    // All the traffic comes before the page opens; none after (the console's own requests go to the manager).
    const jar = new CookieJar();
    for (let i = 0; i < 6; i++) assert.equal((await request(`https://127.0.0.1:${port}/api/whoami`, { jar, timeoutMs: 10_000 })).status, 200);
    const session = jar.get('JSESSIONID')!;
    const node = session.slice(session.lastIndexOf('.') + 1);
    const manager = `http://127.0.0.1:${managerPort}/balancer-manager`;

    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${manager}/console`, { timeout: 15_000 });
    const row = page.locator('tr[data-member]').filter({ hasText: `route ${node}` });
    await row.waitFor({ timeout: 10_000 });
    // The first snapshot already holds the last minute: no new traffic is needed for any of these.
    const shown = async (field: string) => (await row.locator(`[data-field="${field}"]`).textContent())!;
    assert.match(await shown('p50'), /^\d+(\.\d)? ms$/, 'p50 of the traffic before the page opened');
    assert.match(await shown('p99'), /^\d+(\.\d)? ms$/, 'p99 of the traffic before the page opened');
    assert.ok(Number(await shown('rps-minute')) > 0, `the last minute's rate: ${await shown('rps-minute')}`);

    await page.getByRole('searchbox').fill(session);
    await page.getByRole('button', { name: 'Find member' }).click({ timeout: 5_000 });
    const result = page.locator('[data-field="route-result"]');
    await result.filter({ hasText: 'takes it' }).waitFor({ timeout: 5_000 });
    assert.match((await result.textContent())!, new RegExp(`^Route ${node}: https://127\\.0\\.0\\.1:\\d+ \\(route ${node}, Init Ok\\) takes it\\.$`));
    assert.deepEqual(await page.locator('tr.found').evaluateAll((rows) => rows.map((r) => r.querySelector('.sub .mono')?.textContent)), [node], 'the row of that member is marked');
    await page.getByRole('searchbox').fill('ABC.nowhere');
    await page.getByRole('button', { name: 'Find member' }).click({ timeout: 5_000 });
    await result.filter({ hasText: 'no member has the route "nowhere"' }).waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('tr.found').count(), 0);

    const search = (body: object) => fetch(`${manager}/api/v1/route`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000),
    });
    const bad = await search({ balancer: 'demo', session: 'a;b' });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /holds a character no session cookie can/);
    const unknown = await search({ balancer: 'nope', session: 'x.node1' });
    assert.equal(unknown.status, 404);
    assert.deepEqual(problems, []);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}console-search.png`, fullPage: true });
  } finally {
    await browser.close();
    await demo.stop(5_000);
  }
});
