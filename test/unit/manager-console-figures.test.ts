// The console's pure modules (src/manager/console/format.js and figures.js), run in Node as the browser runs them:
// latency percentiles as Prometheus computes them, status badges, and changes and figures as people read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';

type Badge = [label: string, tone: string];
interface Figures {
  histogramQuantile(q: number, bounds: number[], counts: number[]): number | null;
  statusBadges(member: { usable: boolean; status: Record<string, boolean> }): Badge[];
  rowTone(badges: Badge[]): string;
}
interface Format {
  formatBytes(bytes: number): string;
  formatMs(ms: number | null): string;
  formatAgo(ms: number): string;
  differences(before: unknown, after: unknown): string[];
  describeEdit(edit: Record<string, string>): string;
}

// Browser modules without type declarations: imported by URL, typed here by what the console calls.
const consoleModule = (name: string) => import(new URL(`../../src/manager/console/${name}`, import.meta.url).href);
const figures = (await consoleModule('figures.js')) as Figures;
const format = (await consoleModule('format.js')) as Format;

test('histogramQuantile: linear inside the bucket holding the rank, the first bucket from 0, the overflow at the largest bound', () => {
  const bounds = [10, 20];
  assert.equal(figures.histogramQuantile(0.5, bounds, [2, 2, 0]), 10);
  assert.equal(figures.histogramQuantile(0.75, bounds, [2, 2, 0]), 15);
  assert.equal(figures.histogramQuantile(0.25, bounds, [2, 2, 0]), 5);
  assert.equal(figures.histogramQuantile(0.99, bounds, [0, 0, 5]), 20);
  assert.equal(figures.histogramQuantile(0.5, bounds, [0, 0, 0]), null);
});

test('statusBadges and rowTone: OK only when usable and nothing else is said; unusable added unless already bad or off', () => {
  const cases: Array<[{ usable: boolean; status: Record<string, boolean> }, Badge[], string]> = [
    [{ usable: true, status: {} }, [['OK', 'ok']], 'ok'],
    [{ usable: false, status: { drain: true } }, [['draining', 'warn'], ['unusable', 'bad']], 'bad'],
    [{ usable: false, status: { disabled: true, ignoreErrors: true } }, [['disabled', 'off'], ['ignores errors', 'muted']], 'off'],
    [{ usable: true, status: { hotStandby: true } }, [['standby', 'info']], 'info'],
    [{ usable: false, status: { error: true, stopped: true } }, [['error', 'bad'], ['stopped', 'bad']], 'bad'],
  ];
  for (const [member, badges, tone] of cases) {
    assert.deepEqual(figures.statusBadges(member), badges, JSON.stringify(member));
    assert.equal(figures.rowTone(badges), tone, JSON.stringify(member));
  }
});

test('differences: added, removed, each changed key with status letters as words and timeouts in seconds', () => {
  assert.deepEqual(format.differences(null, { url: 'https://a', route: 'a', loadfactor: 1, status: '' }), ['added (route "a", loadfactor 1, status active)']);
  assert.deepEqual(format.differences({ route: 'a' }, null), ['removed']);
  assert.deepEqual(format.differences({ status: '', route: 'a' }, { status: 'ND', route: 'a' }), ['status: active → drain + disabled']);
  assert.deepEqual(format.differences({ timeoutMs: 0 }, { timeoutMs: 2500 }), ['timeoutMs: none → 2.5 s']);
  assert.deepEqual(format.differences({ route: 'a' }, { route: 'a' }), ['no change']);
  assert.equal(format.describeEdit({ kind: 'remove-member', balancer: 'cluster', member: 'https://a' }), 'cluster · remove https://a');
  assert.equal(format.describeEdit({ kind: 'balancer', balancer: 'cluster' }), 'cluster · settings');
});

test('figures for people: bytes in binary units, milliseconds and seconds, time ago', () => {
  assert.equal(format.formatBytes(1023), '1,023 B');
  assert.equal(format.formatBytes(1536), '1.5 KiB');
  assert.equal(format.formatBytes(200 * 1024 * 1024), '200 MiB');
  assert.equal(format.formatMs(null), '–');
  assert.equal(format.formatMs(4.2), '4.2 ms');
  assert.equal(format.formatMs(150), '150 ms');
  assert.equal(format.formatMs(2500), '2.50 s');
  assert.equal(format.formatAgo(90_000), '1 min ago');
  assert.equal(format.formatAgo(3_700_000), '1 h 1 min ago');
});
