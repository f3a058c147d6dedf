// The command line as users run it: --help, --check, convert, the embedded demo, startup output, access log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_DEFAULTS } from '../../src/config/model.ts';
import { CookieJar, request } from '../support/client.ts';
import { freePort } from '../support/ports.ts';
import { spawnManaged } from '../support/process.ts';
import { CLI, startStickler } from '../support/stickler.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';

const fixtures = fileURLToPath(new URL('../fixtures/apache/', import.meta.url));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help documents running, --check and convert', () => {
  const r = cli('--help');
  assert.equal(r.code, 0);
  for (const word of ['--config', '--check', 'convert', 'explain', '--access-log', '--json-log', '--envvars', '--verbose', 'Exit status']) assert.ok(r.stdout.includes(word), word);
});

test('--check on the seed as published names every section that is never closed, and where it opened', () => {
  const file = join(fixtures, 'seed-vhost.conf');
  const r = cli('--check', '--config', file);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  const errors = r.stderr.split('\n').filter((l) => l.startsWith(file));
  assert.deepEqual(errors, [
    `${file}:1: <IfModule>: <IfModule> opened here is never closed (expected </IfModule> before end of file)`,
    `${file}:2: <VirtualHost>: <VirtualHost> opened here is never closed (expected </VirtualHost> before end of file)`,
    `${file}:14: <Proxy>: <Proxy> opened here is never closed (expected </Proxy> before end of file)`,
    `${file}:23: <Proxy>: <Proxy> opened here is never closed (expected </Proxy> before end of file)`,
  ]);
});

test('--check on the closed seed refuses its missing certificate, as apache2 -t does, and still warns about the ;jsessionid= gap with the fix', () => {
  const file = join(fixtures, 'seed-closed.conf');
  const r = cli('--check', '--config', file);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${file}:11: SSLCertificateFile: cannot read /home/asela/security/server.crt: no such file \\(ENOENT\\)$`, 'm'));
  assert.match(r.stderr, /seed-closed\.conf:20: ProxyPass: .*expected stickysession=JSESSIONID\|jsessionid scolonpathdelim=On/);
  assert.match(r.stderr, /seed-closed\.conf:10: SSLProxyEngine: backend certificate verification is off/);
});

test('convert prints native YAML that loads back', () => {
  const r = cli('convert', join(fixtures, 'seed-closed.conf'));
  assert.equal(r.code, 0, r.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'stickler-cli-'));
  writeFileSync(join(dir, 'seed.yaml'), r.stdout);
  // convert reads without verifying, as it prints what the file says: the seed's certificate is not on this machine.
  const back = cli('convert', join(dir, 'seed.yaml'));
  assert.equal(back.code, 0, back.stderr);
  const body = (yaml: string) => yaml.replace(/^(#.*\n)+\n?/, '').replace(/ #.*$/gm, '');
  assert.equal(body(back.stdout), body(r.stdout));
});

test('convert carries the ROUTEID recipe as header-rules', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-cli-'));
  const file = join(dir, 'routeid.conf');
  writeFileSync(file, `Listen 127.0.0.1:8080
<VirtualHost *:8080>
 Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
 ProxyPass / balancer://mycluster/ stickysession=ROUTEID
 <Proxy balancer://mycluster>
  BalancerMember http://127.0.0.1:9001 route=node1
 </Proxy>
</VirtualHost>
`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = cli('convert', file);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /header-rules:\n\s+- direction: response\n\s+action: add\n\s+header: Set-Cookie\n\s+value: ROUTEID=\.%\{BALANCER_WORKER_ROUTE\}e; path=\/\n\s+env: BALANCER_ROUTE_CHANGED\n/);
});

test('usage errors exit 2 with the reason', () => {
  const r = cli('--check');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--check needs --config FILE/);
  assert.equal(cli('--bogus').code, 2);
});

test('--json-log with a configuration and no --access-log is a usage error: it formats only Stickler\'s own log', () => {
  const r = cli('--config', join(fixtures, 'seed-closed.conf'), '--json-log');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--json-log writes Stickler's own log, --access-log, as JSON lines; give --access-log DEST too/);
});

test('a port already in use fails at startup with the Listen line (or the <VirtualHost> line when there is no Listen), exit 1', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'stickler-cli-'));
    const conf = readFileSync(join(fixtures, 'seed-closed.conf'), 'utf8')
      .replace('<VirtualHost *:443>', `Listen 127.0.0.1:${port}\n<VirtualHost *:${port}>`)
      .replace(/^<IfModule mod_proxy.c>\n/, '');
    const { certFile, keyFile } = localCertificate();
    const withCerts = conf
      .replace('/home/asela/security/server.crt', certFile)
      .replace('/home/asela/security/server.key', keyFile)
      .replace(/<\/IfModule>\s*$/, '');
    writeFileSync(join(dir, 'busy.conf'), withCerts);
    const r = cli('--config', join(dir, 'busy.conf'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`busy\\.conf:1: Listen: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    // Without a Listen, the port is the virtual host's: the message names that section, not a Listen never written.
    writeFileSync(join(dir, 'implied.conf'), withCerts.replace(`Listen 127.0.0.1:${port}\n<VirtualHost *:${port}>`, `<VirtualHost 127.0.0.1:${port}>`));
    const implied = cli('--config', join(dir, 'implied.conf'));
    assert.equal(implied.code, 1, implied.stderr);
    assert.match(implied.stderr, new RegExp(`implied\\.conf:1: <VirtualHost>: the configuration has no Listen: Stickler listens on 127\\.0\\.0\\.1:${port}`));
    assert.match(implied.stderr, new RegExp(`implied\\.conf:1: <VirtualHost>: cannot listen on 127\\.0\\.0\\.1:${port} \\(the configuration has no Listen; this is the address of the virtual host\\): EADDRINUSE`));
  } finally {
    blocker.close();
  }
});

/** Whether something accepts TCP connections at host:port (refused or silent within the bound: no). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 5_000 });
    const end = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
    socket.once('timeout', () => end(false));
  });
}

test('npm start without a configuration runs the demo: two nodes, sticky sessions, startup summary, access log, everything on loopback', async () => {
  const port = await freePort();
  const managerPort = await freePort();
  const demo = spawnManaged('demo', process.execPath, [CLI, '--port', String(port), '--manager-port', String(managerPort)]);
  try {
    await demo.waitForStdout((out) => out.includes('\nready\n'), 30_000, 'printing ready');
    const out = demo.stdout();
    assert.match(out, new RegExp(`listening on https://127\\.0\\.0\\.1:${port}`));
    assert.match(out, new RegExp(`Listening on 127\\.0\\.0\\.1:${port} only`));
    // All of 127/8 is this machine: a socket on 0.0.0.0 answers 127.0.0.2 as well, one on 127.0.0.1 alone does not.
    assert.equal(await accepts('127.0.0.1', port), true);
    assert.equal(await accepts('127.0.0.2', port), false, 'the demo listens on 127.0.0.1 only');
    assert.match(out, /balancer:\/\/demo lbmethod=byrequests stickysession=JSESSIONID\|jsessionid/);
    assert.match(out, /route=node1/);
    assert.match(out, /route=node2/);
    assert.match(out, /curl /);

    const jar = new CookieJar();
    const first = JSON.parse((await request(`https://127.0.0.1:${port}/api/whoami`, { jar })).body);
    for (let i = 2; i <= 5; i++) {
      const again = JSON.parse((await request(`https://127.0.0.1:${port}/api/whoami`, { jar })).body);
      assert.equal(again.node, first.node);
      assert.equal(again.hits, i);
    }
    const other = JSON.parse((await request(`https://127.0.0.1:${port}/api/whoami`)).body);
    assert.notEqual(other.node, first.node, 'a new session goes to the other node');
    await demo.waitForStdout((o) => /"GET \/api\/whoami HTTP\/1\.1" 200 \d+ "-" "-" route=node\d backend_ms=\d+/.test(o), 5_000, 'an access log line');
    assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${managerPort}`), 'the manager listens on loopback only');
    assert.match(out, new RegExp(`^  127\\.0\\.0\\.1:${managerPort} /balancer-manager -> balancer manager$`, 'm'), 'the summary names the address bound, not *');
    const page = await fetch(`http://127.0.0.1:${managerPort}/balancer-manager/console`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(page.status, 200);
    const overview = await (await fetch(`http://127.0.0.1:${managerPort}/balancer-manager/api/v1/balancers`, { signal: AbortSignal.timeout(5_000) })).json();
    assert.deepEqual(overview.balancers[0].members.map((m: { route: string }) => m.route), ['node1', 'node2']);
    const root = await fetch(`http://127.0.0.1:${managerPort}/`, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/balancer-manager/console');
    const metrics = await fetch(`http://127.0.0.1:${managerPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.match(await metrics.text(), /^stickler_member_requests_total\{balancer="demo",member="https:\/\/127\.0\.0\.1:\d+",route="node1"\} \d+$/m);
  } finally {
    await demo.stop(5_000);
  }
});

test('--listen takes an IP address only, and says so', () => {
  const r = cli('--listen', 'localhost', '--port', '1');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--listen expects an IP address such as 127\.0\.0\.1, 0\.0\.0\.0 or ::1, got "localhost"/);
});

test('--json-log writes one JSON object per request with Apache\'s BALANCER_* facts', async () => {
  const port = await freePort();
  const demo = spawnManaged('demo-json', process.execPath, [CLI, '--port', String(port), '--manager-port', String(await freePort()), '--json-log']);
  try {
    await demo.waitForStdout((out) => out.includes('\nready\n'), 30_000, 'printing ready');
    await request(`https://127.0.0.1:${port}/api/whoami`, { headers: { cookie: 'JSESSIONID=ABC.node2' } });
    await demo.waitForStdout((o) => o.includes('"BALANCER_SESSION_STICKY"'), 5_000, 'a JSON access log line');
    const line = demo.stdout().split('\n').find((l) => l.includes('"BALANCER_SESSION_STICKY"'))!;
    const entry = JSON.parse(line);
    assert.equal(entry.status, 200);
    assert.equal(entry.target, '/api/whoami');
    assert.deepEqual(entry.balancer, {
      BALANCER_NAME: 'balancer://demo',
      BALANCER_WORKER_NAME: entry.balancer.BALANCER_WORKER_NAME,
      BALANCER_WORKER_ROUTE: 'node2',
      BALANCER_SESSION_STICKY: 'JSESSIONID',
      BALANCER_SESSION_ROUTE: 'node2',
    });
    assert.match(entry.balancer.BALANCER_WORKER_NAME, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(typeof entry.backendMs, 'number');
  } finally {
    await demo.stop(5_000);
  }
});

test('SIGTERM stops at once, even with a client stuck before its TLS handshake', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stickler-cli-'));
  writeFileSync(join(dir, 'stop.yaml'), yamlConfig(port, [{ url: 'https://127.0.0.1:9', route: 'a' }]));
  const stickler = await startStickler(join(dir, 'stop.yaml'));
  const stuck = connect({ host: '127.0.0.1', port });
  stuck.on('error', () => {});
  await new Promise((resolve) => stuck.once('connect', resolve));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  process.kill(stickler.pid, 'SIGTERM');
  const status = await stickler.exited;
  assert.equal(status.code, 0);
  // Waiting for the stuck client would last until its handshake timeout: anything well short of it is "at once".
  const took = Date.now() - started;
  assert.ok(took < CLIENT_DEFAULTS.handshakeTimeout / 2, `took ${took} ms (handshake timeout ${CLIENT_DEFAULTS.handshakeTimeout} ms)`);
  stuck.destroy();
});

test('explain: the decision for a URL and its cookies, with the manager state file laid over the configuration; clear refusals', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'site.conf');
  writeFileSync(file, `Listen 127.0.0.1:8080
BalancerPersist On
<VirtualHost *:8080>
 ServerName app.example
 ProxyPass /static/ !
 ProxyPass /direct/ http://127.0.0.1:9003/
 ProxyPass / balancer://cluster/ stickysession=JSESSIONID|jsessionid scolonpathdelim=On
 <Proxy balancer://cluster>
  BalancerMember http://127.0.0.1:9001 route=node1
  BalancerMember http://127.0.0.1:9002 route=node2
 </Proxy>
</VirtualHost>
`);
  const byCookie = cli('explain', '--config', file, 'http://app.example:8080/app/', '--cookie', 'JSESSIONID=abc.node2');
  assert.equal(byCookie.code, 0, byCookie.stderr);
  assert.match(byCookie.stdout, new RegExp(`^host +app\\.example:8080 \\(${file}:3\\)$`, 'm'));
  assert.match(byCookie.stdout, new RegExp(`^mapping +ProxyPass / balancer://cluster/ \\(${file}:7\\)$`, 'm'));
  assert.match(byCookie.stdout, /^route +node2, from the cookie JSESSIONID \(value abc\.node2\)$/m);
  assert.match(byCookie.stdout, /^chosen +http:\/\/127\.0\.0\.1:9002 \(route node2\): the session's route$/m);
  assert.match(byCookie.stdout, /^skipped +http:\/\/127\.0\.0\.1:9001 \(route node1\): not the session's route/m);
  assert.match(byCookie.stdout, /^state +the configuration \(the manager state file .*stickler-balancer-state\.json does not exist yet\)$/m);

  // node2 disabled through the manager, as its state file keeps it.
  const stateFile = join(dir, 'stickler-balancer-state.json');
  writeFileSync(stateFile, JSON.stringify({ version: 1, balancers: { cluster: { settings: {}, members: { 'http://127.0.0.1:9002': { status: { disabled: true } } }, added: [], removed: [] } } }));
  const disabled = cli('explain', '--config', file, '/app/;jsessionid=abc.node2', '--header', 'Host: app.example:8080');
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.match(disabled.stdout, /^route +node2, from the path parameter ;jsessionid= \(value abc\.node2\)$/m);
  assert.match(disabled.stdout, /^chosen +http:\/\/127\.0\.0\.1:9001 \(route node1\): no usable member has the session's route node2, so byrequests/m);
  assert.match(disabled.stdout, /^skipped +http:\/\/127\.0\.0\.1:9002 \(route node2\): disabled \[Init Dis\]$/m);
  assert.match(disabled.stdout, new RegExp(`^state +the configuration with the manager state file ${stateFile}$`, 'm'));
  assert.ok(readFileSync(stateFile, 'utf8').includes('"disabled":true'), 'the state file is only read');

  const excluded = cli('explain', '--config', file, '/static/a.css');
  assert.equal(excluded.code, 1);
  assert.match(excluded.stderr, /ProxyPass \/static\/ ! \(.*site\.conf:5\) excludes it from proxying/);
  const plain = cli('explain', '--config', file, '/direct/x');
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /names a plain URL, not a balancer/);
  const usage = cli('explain', '--config', file);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /takes exactly one URL/);
  // A malformed URL and a cookie without its value are usage errors; a host no virtual host serves is not proxied.
  const noScheme = cli('explain', '--config', file, 'app.example/app/');
  assert.equal(noScheme.code, 2, noScheme.stderr);
  assert.match(noScheme.stderr, /^stickler: explain: app\.example\/app\/: request target must be origin-form \(\/path\) or absolute-form/m);
  const bareCookie = cli('explain', '--config', file, '/app/', '--cookie', 'JSESSIONID');
  assert.equal(bareCookie.code, 2, bareCookie.stderr);
  assert.match(bareCookie.stderr, /--cookie "JSESSIONID": expected 'NAME=value'/);
  const ipv6 = cli('explain', '--config', file, 'http://[::1]:8080/app/', '--cookie', 'JSESSIONID=abc.node1');
  assert.equal(ipv6.code, 0, ipv6.stderr);
  assert.match(ipv6.stdout, /^chosen +http:\/\/127\.0\.0\.1:9001 \(route node1\): the session's route$/m);
  const otherPort = cli('explain', '--config', file, 'http://app.example:9999/app/');
  assert.equal(otherPort.code, 1, otherPort.stderr);
  assert.match(otherPort.stderr, /no virtual host serves app\.example:9999 on port 9999/);
  writeFileSync(join(dir, 'bad.conf'), 'ProxyPass / balancer://nowhere/ lbmethod=bogus\n');
  const bad = cli('explain', '--config', join(dir, 'bad.conf'), '/');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.conf:1: ProxyPass: lbmethod "bogus" is not known/);
  assert.match(bad.stderr, /^stickler: explain: 3 errors in the configuration$/m);
});
