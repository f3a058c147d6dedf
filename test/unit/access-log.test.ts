import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLOSE_WAIT_MS, formatCombined, formatJson, openConfiguredLogs } from '../../src/log/access.ts';
import { EXIT_GRACE_MS as PIPED_EXIT_GRACE_MS } from '../../src/log/piped.ts';
import { loadApacheConfig } from '../../src/config/apache/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';
import { loadedBound, withTimeout } from '../support/wait.ts';
import type { AccessLogConfig, AccessLogFormat } from '../../src/config/model.ts';
import { escapeLogItem, formatLogTime, requestEntry, type AccessEntry } from '../../src/log/entry.ts';

process.env.TZ = 'UTC';

const STICKLER: AccessLogFormat = { kind: 'stickler' };
const JSON_LINES: AccessLogFormat = { kind: 'json' };

/** The logs a runtime opens, with Stickler's own log only (`log.access`) or the main server's CustomLogs. */
function serverLog(own: { access?: string; format: AccessLogFormat }, logs: AccessLogConfig[] = []): { write(e: AccessEntry): void; close(): Promise<void> } {
  const configured = openConfiguredLogs({ log: { ...own, ...(logs.length > 0 && { logs }) }, virtualHosts: [] });
  return { write: (e) => configured.server.write(e), close: () => configured.close() };
}

const sample: AccessEntry = {
  clientIp: '::ffff:192.0.2.10',
  time: new Date('2000-10-10T13:55:36.250Z'),
  method: 'GET',
  target: '/apache_pb.gif;jsessionid=ABC.node1?x=1',
  protocol: 'HTTP/1.1',
  status: 200,
  bytesSent: 2326,
  referer: 'http://www.example.com/start.html',
  userAgent: 'Mozilla/4.08 [en] (Win98; I ;Nav)',
  host: 'localhost',
  balancer: {
    BALANCER_NAME: 'balancer://demo',
    BALANCER_WORKER_NAME: 'https://127.0.0.1:9443',
    BALANCER_WORKER_ROUTE: 'node1',
    BALANCER_SESSION_STICKY: 'JSESSIONID',
    BALANCER_SESSION_ROUTE: 'node1',
  },
  backendMs: 12.6,
  totalMs: 14,
};

test('combined line for a sample entry, Apache byte for byte plus route and backend time', () => {
  assert.equal(
    formatCombined(sample),
    '192.0.2.10 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif;jsessionid=ABC.node1?x=1 HTTP/1.1" 200 2326 ' +
      '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)" route=node1 backend_ms=13',
  );
});

test('absent values: %b is - for 0 bytes, missing headers and route are -, empty header stays empty', () => {
  const line = formatCombined({
    clientIp: '2001:db8::1',
    time: new Date('2021-01-02T03:04:05Z'),
    method: 'POST',
    target: '/x',
    protocol: 'HTTP/1.0',
    status: 503,
    bytesSent: 0,
    referer: '',
    totalMs: 1,
    error: 'STK_ERR_NO_MEMBER',
  });
  assert.equal(line, '2001:db8::1 - - [02/Jan/2021:03:04:05 +0000] "POST /x HTTP/1.0" 503 - "" "-" route=- backend_ms=-');
});

test('a request entry starts from its head and its connection, the answer still unknown', () => {
  const headers: [string, string][] = [['Host', 'shop.example'], ['User-Agent', 'curl'], ['Referer', 'https://r/']];
  const head = { method: 'GET', target: '/x', minor: 0 as const, headers, framing: { kind: 'none' as const }, keepAlive: false, expectContinue: false };
  const connection = { localIp: '127.0.0.1', remotePort: 5000 };
  const from = { clientIp: '192.0.2.1', localPort: 8443, scheme: 'https' as const, logConnection: connection, answered: 3 };
  const { time, ...entry } = requestEntry(head, from);
  assert.ok(time instanceof Date && !Number.isNaN(time.getTime()));
  assert.deepEqual(entry, {
    clientIp: '192.0.2.1', method: 'GET', target: '/x', protocol: 'HTTP/1.0', status: 0, bytesSent: 0, referer: 'https://r/',
    userAgent: 'curl', host: 'shop.example', totalMs: 0, requestHeaders: headers, localPort: 8443, connection, keepalives: 3, scheme: 'https',
  });
  assert.equal(requestEntry(head, { ...from, logProtocol: 'HTTP/2.0' }).protocol, 'HTTP/2.0');
});

test('escaping follows ap_escape_logitem', () => {
  assert.equal(escapeLogItem('plain text / ok'), 'plain text / ok');
  assert.equal(escapeLogItem('a"b\\c'), 'a\\"b\\\\c');
  assert.equal(escapeLogItem('\b\n\r\t\v'), '\\b\\n\\r\\t\\v');
  assert.equal(escapeLogItem('\x00\x1b\x7f'), '\\x00\\x1b\\x7f');
  assert.equal(escapeLogItem('caf\u00e9'), 'caf\\xe9');
  assert.equal(escapeLogItem('\u20ac'), '\\xe2\\x82\\xac');
  const line = formatCombined({ ...sample, target: '/"><script>\n', userAgent: 'evil"\r\nX: y' });
  assert.match(line, /"GET \/\\"><script>\\n HTTP\/1\.1"/);
  assert.match(line, /"evil\\"\\r\\nX: y"/);
  assert.doesNotMatch(line, /[\r\n]/);
});

test('time: local time with the numeric offset', (t) => {
  t.after(() => {
    process.env.TZ = 'UTC';
  });
  assert.equal(formatLogTime(new Date('2019-03-04T05:06:07Z')), '[04/Mar/2019:05:06:07 +0000]');
  process.env.TZ = 'America/Los_Angeles';
  assert.equal(formatLogTime(new Date('2000-10-10T20:55:36Z')), '[10/Oct/2000:13:55:36 -0700]');
  process.env.TZ = 'Asia/Kolkata';
  assert.equal(formatLogTime(new Date('2000-01-01T00:00:00Z')), '[01/Jan/2000:05:30:00 +0530]');
  assert.equal(formatLogTime(new Date(NaN)), '[-]');
});

test('json: one object per line with every given field', () => {
  const line = formatJson({ ...sample, userAgent: 'a\nb' });
  assert.doesNotMatch(line, /\n/);
  const obj = JSON.parse(line) as Record<string, unknown>;
  assert.equal(obj.time, '2000-10-10T13:55:36.250Z');
  assert.equal(obj.clientIp, '::ffff:192.0.2.10');
  assert.equal(obj.userAgent, 'a\nb');
  assert.deepEqual(obj.balancer, sample.balancer);
  assert.equal(obj.backendMs, 12.6);
  assert.equal('error' in obj, false);
  assert.equal('thread' in obj, false, 'no thread without worker threads');
  assert.equal((JSON.parse(formatJson(sample, 2)) as { thread: number }).thread, 2);
});

test('file log: batched, appended, flushed on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');

  const log = serverLog({ access: file, format: STICKLER });
  log.write(sample);
  log.write({ ...sample, status: 404 });
  assert.equal(statSync(file).size, 0, 'lines wait for the batch');
  await sleep(300);
  assert.equal(readFileSync(file, 'utf8').split('\n').length, 3, 'timer flushed both lines');
  log.write({ ...sample, status: 500 });
  await log.close();
  log.write({ ...sample, status: 201 });

  const again = serverLog({ access: file, format: JSON_LINES });
  again.write(sample);
  await again.close();

  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length, 5);
  assert.deepEqual(
    lines.slice(0, 3).map((l) => l.split(' ')[8]),
    ['200', '404', '500'],
  );
  assert.equal((JSON.parse(lines[3]!) as { status: number }).status, 200);
  assert.equal(lines[4], '');
});

test('a large burst is flushed by size and fully written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const log = serverLog({ access: file, format: STICKLER });
  for (let i = 0; i < 5000; i++) log.write({ ...sample, status: 200 + (i % 3) });
  await log.close();
  assert.equal(readFileSync(file, 'utf8').split('\n').length, 5001);
});

test('write errors (a file-size limit of 0: EFBIG) are reported once on stderr, counted at the close, and never thrown', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const module = pathToFileURL(join(import.meta.dirname, '../../src/log/access.ts')).href;
  // SIGXFSZ would end the process; handled, the write fails with EFBIG, as a write to a full disk fails with
  // ENOSPC. `ulimit -f` is POSIX, so this needs no special device.
  const script = `
    process.on('SIGXFSZ', () => {});
    const { openConfiguredLogs } = await import(${JSON.stringify(module)});
    const log = openConfiguredLogs({ log: { access: ${JSON.stringify(join(dir, 'access.log'))}, format: { kind: 'stickler' } }, virtualHosts: [] });
    const entry = { ...${JSON.stringify(sample)}, time: new Date(0) };
    for (let i = 0; i < 3; i++) {
      log.server.write(entry);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await log.close();
    process.stdout.write('still running');`;
  // No compile cache in the child: under `ulimit -f 0` writing it would kill the child before the access log does.
  const { NODE_COMPILE_CACHE: _cache, ...env } = process.env;
  const child = spawnSync('/bin/sh', ['-c', 'ulimit -f 0 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    encoding: 'utf8',
    timeout: 30_000,
    env,
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'still running');
  const messages = child.stderr.split('\n').filter((l) => l.startsWith('stickler:'));
  assert.equal(messages.length, 2, child.stderr);
  assert.match(messages[0]!, /access log .*access\.log: write failed: .*EFBIG/);
  assert.match(messages[1]!, /access log .*access\.log: 3 lines dropped$/, 'the lines lost are counted, once, at the close');
});

test('no access log configured: writes are ignored; unopenable file: clear error', async () => {
  const none = serverLog({ format: STICKLER });
  none.write(sample);
  await none.close();
  assert.throws(
    () => serverLog({ access: '/nonexistent-dir/access.log', format: STICKLER }),
    /cannot open access log \/nonexistent-dir\/access\.log: ENOENT/,
  );
});

test('stdout destination ("-") writes one line per entry', () => {
  const module = pathToFileURL(join(import.meta.dirname, '../../src/log/access.ts')).href;
  const script = `
    const { openConfiguredLogs } = await import(${JSON.stringify(module)});
    const log = openConfiguredLogs({ log: { access: '-', format: { kind: 'json' } }, virtualHosts: [] });
    for (const status of [200, 302]) log.server.write({ clientIp: '127.0.0.1', time: new Date(0), method: 'GET', target: '/', protocol: 'HTTP/1.1', status, bytesSent: 1, totalMs: 1 });
    await log.close();`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.deepEqual(
    out.trim().split('\n').map((l) => (JSON.parse(l) as { status: number }).status),
    [200, 302],
  );
});

test('a session moved off its member: route=isNode2->isNode1 in the default line, routeFrom in JSON', () => {
  const moved: AccessEntry = {
    ...sample,
    balancer: { BALANCER_NAME: 'balancer://app', BALANCER_WORKER_ROUTE: 'isNode1', BALANCER_SESSION_STICKY: 'JSESSIONID', BALANCER_SESSION_ROUTE: 'isNode2', BALANCER_ROUTE_CHANGED: '1' },
  };
  assert.match(formatCombined(moved), / route=isNode2->isNode1 backend_ms=13$/);
  assert.equal(JSON.parse(formatJson(moved)).routeFrom, 'isNode2');
  assert.match(formatCombined(sample), / route=node1 backend_ms=13$/);
  assert.equal(JSON.parse(formatJson(sample)).routeFrom, undefined);
});

test('a CustomLog naming combined or json with no LogFormat of that name writes that text, as httpd does and the warning says', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'site.conf');
  writeFileSync(file, [
    `CustomLog ${join(dir, 'combined.log')} combined`,
    `CustomLog ${join(dir, 'json.log')} json`,
    'Listen 127.0.0.1:8080',
    '<VirtualHost *:8080>',
    'ProxyPass / http://127.0.0.1:9001/',
    '</VirtualHost>',
  ].join('\n') + '\n');
  const { config, diagnostics } = loadApacheConfig(file);
  assert.ok(config, diagnostics.map(formatDiagnostic).join('\n'));
  const warnings = diagnostics.map(formatDiagnostic).filter((d) => /no LogFormat is named/.test(d));
  assert.deepEqual(warnings.map((w) => /"(\w+)", so each line is the text "\1"/.exec(w)?.[1]), ['combined', 'json']);
  const logs = openConfiguredLogs(config);
  logs.server.write(sample);
  await logs.close();
  assert.equal(readFileSync(join(dir, 'combined.log'), 'utf8'), 'combined\n');
  assert.equal(readFileSync(join(dir, 'json.log'), 'utf8'), 'json\n');
});

test('a piped logger that reads nothing does not hold a close past its exit grace', async () => {
  const log = serverLog({ format: STICKLER }, [{ destination: '|$exec sleep 600', format: { kind: 'apache', text: '%r %{User-agent}i' } }]);
  // Far more than a pipe or socket holds: the child's input never drains, and more than the caps keep.
  for (let i = 0; i < 20_000; i++) log.write({ ...sample, userAgent: 'x'.repeat(1000) });
  await sleep(300);
  await withTimeout(log.close(), loadedBound(PIPED_EXIT_GRACE_MS + CLOSE_WAIT_MS), 'closing a log whose piped logger reads nothing');
});

test('json: the routing decision, when one was recorded; only a JSON log asks for one', async (t) => {
  const decision = { balancer: 'balancer://b', route: { source: 'cookie' as const, name: 'JSESSIONID', value: 'x.n1', route: 'n1' }, attempts: [] };
  assert.deepEqual(JSON.parse(formatJson({ ...sample, decision })).decision, decision);
  assert.equal('decision' in JSON.parse(formatJson(sample)), false);
  const dir = mkdtempSync(join(tmpdir(), 'stickler-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = (kind: 'json' | 'stickler', logs: AccessLogConfig[] = []) => openConfiguredLogs({ log: { access: join(dir, `${kind}.log`), format: { kind }, ...(logs.length > 0 && { logs }) }, virtualHosts: [] });
  const plain = open('stickler');
  const json = open('json');
  const both = open('stickler', [{ destination: join(dir, 'other.log'), format: { kind: 'json' } }]);
  assert.equal(plain.server.recordsDecisions, false);
  assert.equal(json.server.recordsDecisions, true);
  assert.equal(both.server.recordsDecisions, true);
  await Promise.all([plain.close(), json.close(), both.close()]);
});
