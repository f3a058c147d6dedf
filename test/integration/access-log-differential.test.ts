// The access-log differential: Debian's apache2 and Stickler started on the same configuration text (the seed's,
// with Debian's LogFormats and one CustomLog per format in the virtual host), the same requests sent to both, and
// the log lines compared. Masked: the time (%t), the duration (%D), and the
// response sizes %O (each product sends its own response headers; Stickler's %O is checked against the bytes its
// client received instead) and, for the one request answered by each product itself, its error page's size.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apacheConfig, startApache, type ApacheServer } from '../support/apache.ts';
import { rawRequest } from '../support/client.ts';
import { localCertificate } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { fileLines } from '../support/wait.ts';

const DEBIAN_FORMATS = `LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" vhost_combined
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
LogFormat "%h %l %u %t \\"%r\\" %>s %O" common
LogFormat "%{Referer}i -> %U" referer
LogFormat "%{User-agent}i" agent
LogFormat "%D %{BALANCER_NAME}e %{BALANCER_WORKER_NAME}e %{BALANCER_WORKER_ROUTE}e %{BALANCER_SESSION_STICKY}e %{BALANCER_SESSION_ROUTE}e %{BALANCER_ROUTE_CHANGED}e \\"%{X-Test}i\\" \\"%{Set-Cookie}o\\" %{Content-Type}o %{SSL_PROTOCOL}x %s %>s %m %U%q %H %v %V %b %B %R %404{X-Test}i %!404{X-Test}i" custom`;

const FORMATS = ['vhost_combined', 'combined', 'common', 'referer', 'agent', 'custom'];
const LOGS = FORMATS.map((f) => `CustomLog logs-${f}.log ${f}`).join('\n');

/** The requests, as raw bytes; `local` marks the one each product answers itself (not proxied). */
const REQUESTS: Array<{ bytes: string; local?: boolean }> = [
  { bytes: 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' },
  { bytes: 'GET /page?x=1 HTTP/1.1\r\nHost: localhost\r\nReferer: https://example.com/from\r\nUser-Agent: curl/8.0\r\nConnection: close\r\n\r\n' },
  { bytes: 'GET /caf%C3%A9/%22quoted%22%5C?q=%22a%22&b=\\ HTTP/1.1\r\nHost: LocalHost\r\nReferer: a "quoted"\tref \\ \xe9\r\nUser-Agent: ua \\ "x"\r\nX-Test: one\r\nX-Test: two\r\nConnection: close\r\n\r\n' },
  { bytes: 'GET /missing HTTP/1.1\r\nHost: localhost\r\nX-Test: 404-only\r\nConnection: close\r\n\r\n' },
  { bytes: 'HEAD /head HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' },
  { bytes: 'POST /form HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\nConnection: close\r\n\r\na=1&b=2' },
  { bytes: 'GET /balancer-manager HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', local: true },
  { bytes: 'GET /moved HTTP/1.1\r\nHost: localhost\r\nCookie: JSESSIONID=abc.isNode2\r\nConnection: close\r\n\r\n' },
  { bytes: 'GET /sticky HTTP/1.1\r\nHost: localhost\r\nCookie: JSESSIONID=abc.isNode1\r\nConnection: close\r\n\r\n' },
];

let dir: string;
let member: https.Server;
const running: Array<{ stop(): Promise<void> }> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-logdiff-'));
  const { certFile, keyFile } = localCertificate();
  // A member whose answers depend only on the request, so both proxies relay the same bytes.
  member = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.sendDate = false;
      if (req.url === '/missing') {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '9' });
        return res.end('not here\n');
      }
      const body = `${req.method} ${req.url} ${Buffer.concat(chunks).length}\n`;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Set-Cookie': ['a=1; Path=/', 'b=2'], 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((resolve) => member.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  member.closeAllConnections();
  await new Promise((resolve) => member.close(resolve));
});

async function configFor(port: number, sub: string): Promise<{ text: string; dir: string }> {
  const d = join(dir, sub);
  await mkdir(d, { recursive: true });
  const { certFile, keyFile } = localCertificate();
  const memberUrl = `https://127.0.0.1:${(member.address() as AddressInfo).port}`;
  const text = apacheConfig({
    port, dir: d, certFile, keyFile,
    // isNode2 is disabled: a session routed to it goes to isNode1 with BALANCER_ROUTE_CHANGED.
    members: [{ url: memberUrl, route: 'isNode1' }, { url: 'https://127.0.0.1:9', route: 'isNode2', status: '+D' }],
    extraServer: DEBIAN_FORMATS,
    extraVhost: LOGS,
  });
  return { text, dir: d };
}

const readLines = (file: string, count: number): Promise<string[]> => fileLines(file, count, 'latin1');

const mask = (line: string): string => line.replace(/\[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]/, '[TIME]');

/** The %O (and, for a locally answered request, %b/%B) fields of each format, by their place in the line. */
function maskSizes(format: string, line: string, local: boolean): string {
  if (format === 'common' || format === 'combined' || format === 'vhost_combined') return line.replace(/^(.*?"[^"]*" \d{3}) \d+/, '$1 O');
  if (format === 'custom') {
    const masked = line.replace(/^\d+ /, 'D ');
    return local ? masked.replace(/ (\d+|-) (\d+) (\S+) (\S+) (\S+)$/, ' b B $3 $4 $5') : masked;
  }
  return line;
}

test('Debian\'s formats and a custom one: apache2 and Stickler write the same lines', async () => {
  const apachePort = await freePort();
  const apacheConf = await configFor(apachePort, 'apache');
  const apache: ApacheServer = await startApache(apacheConf.text);
  running.push(apache);
  const sticklerPort = await freePort();
  const sticklerConf = await configFor(sticklerPort, 'stickler');
  const file = join(sticklerConf.dir, 'stickler.conf');
  await writeFile(file, sticklerConf.text);
  const stickler: SticklerProcess = await startStickler(file, { args: ['--access-log', join(sticklerConf.dir, 'default.log')] });
  running.push(stickler);

  const received: number[] = [];
  for (const { bytes } of REQUESTS) {
    await rawRequest(apachePort, Buffer.from(bytes, 'latin1'));
    received.push((await rawRequest(sticklerPort, Buffer.from(bytes, 'latin1'))).bytes.length);
  }
  for (const format of FORMATS) {
    const a = await readLines(join(apacheConf.dir, `logs-${format}.log`), REQUESTS.length);
    const s = await readLines(join(sticklerConf.dir, `logs-${format}.log`), REQUESTS.length);
    assert.equal(s.length, REQUESTS.length, `${format}: one line per request\n${s.join('\n')}`);
    if (format === 'common') {
      // %O is what the client received (over TLS Stickler counts the HTTP bytes, apache2 the TLS records).
      assert.deepEqual(s.map((l) => Number(/" \d{3} (\d+)$/.exec(l)?.[1])), received, 'common: %O is the bytes the client got');
    }
    for (let i = 0; i < REQUESTS.length; i++) {
      const local = REQUESTS[i]!.local === true;
      assert.equal(maskSizes(format, mask(s[i]!), local), maskSizes(format, mask(a[i]!), local), `${format}, request ${i + 1}`);
    }
  }
  // The virtual host has logs of its own, so the server's CustomLog gets nothing, in both.
  assert.equal(await readFile(apache.accessLog, 'utf8').catch(() => ''), '');
  assert.equal(await readFile(join(sticklerConf.dir, 'access_log'), 'utf8').catch(() => ''), '');
  // Stickler's own line (--access-log) names both routes of the session that moved.
  const own = await readLines(join(sticklerConf.dir, 'default.log'), REQUESTS.length);
  assert.match(own[7]!, /"GET \/moved HTTP\/1\.1" 200 \d+ "-" "-" route=isNode2->isNode1 backend_ms=\d+$/);
  assert.match(own[8]!, / route=isNode1 backend_ms=\d+$/);
});
