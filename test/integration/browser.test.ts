// A real browser (Debian's Chromium, driven by playwright-core) on the embedded demo: it speaks HTTP/2 to
// Stickler, keeps its session cookie, and so stays on one demo node while the hit counter climbs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freePort } from '../support/ports.ts';
import { spawnManaged } from '../support/process.ts';
import { CLI } from '../support/stickler.ts';

const browserPath = '/usr/bin/chromium';
const screenshots = fileURLToPath(new URL('../../.stickler/screenshots/', import.meta.url));

test('Chromium on the demo: HTTP/2, a sticky session, the counter going up', { skip: !existsSync(browserPath) && `${browserPath} is not installed` }, async () => {
  const port = await freePort();
  const demo = spawnManaged('demo-browser', process.execPath, [CLI, '--port', String(port), '--manager-port', String(await freePort())]);
  const browser = await chromium.launch({
    executablePath: browserPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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
