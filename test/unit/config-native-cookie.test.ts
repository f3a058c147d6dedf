// The native balancer `cookie` key: defaults, every attribute, the key file read at load, and the refusals.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';

const dir = mkdtempSync(join(tmpdir(), 'stickler-cookie-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FILE = join(dir, 'stickler.yaml');

function keyFile(name: string, bytes: number, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.alloc(bytes, 0x5a));
  chmodSync(path, mode);
  return path;
}

/** With both routes, the cookie mapping is at line 14 and its first key at line 15. */
function yaml(cookie: string[], routes = ['n1', 'n2']): string {
  return [
    'virtual-hosts:',
    '  - port: 8080',
    '    routes:',
    '      - path: /',
    '        balancer: app',
    'balancers:',
    '  app:',
    '    sticky-session: JSESSIONID',
    '    members:',
    `      - url: http://127.0.0.1:8081${routes[0] ? `\n        route: ${routes[0]}` : ''}`,
    `      - url: http://127.0.0.1:8082${routes[1] ? `\n        route: ${routes[1]}` : ''}`,
    '    cookie:',
    ...cookie.map((l) => `      ${l}`),
  ].join('\n');
}

function load(text: string) {
  const result = loadNativeConfigText(text, FILE);
  return { config: result.config, messages: result.diagnostics.map(formatDiagnostic).map((m) => m.slice(FILE.length + 1)) };
}

test('defaults: path /, HttpOnly, SameSite Lax, Secure left to the connection, a session cookie, unsigned', () => {
  const { config, messages } = load(yaml(['name: ROUTEID']));
  assert.deepEqual(messages, []);
  assert.deepEqual(config?.balancers[0]?.cookie, { name: 'ROUTEID', path: '/', httpOnly: true, sameSite: 'Lax' });
});

test('every key, and the key file read at load as bytes', () => {
  const key = keyFile('every.key', 48);
  const { config, messages } = load(yaml(['name: LB', 'path: /app', 'domain: example.com', 'secure: false', 'http-only: false',
    'same-site: Strict', 'max-age: 86400', `key-file: ${key}`]));
  assert.deepEqual(messages, []);
  assert.deepEqual(config?.balancers[0]?.cookie, {
    name: 'LB', path: '/app', domain: 'example.com', secure: false, httpOnly: false, sameSite: 'Strict', maxAge: 86400,
    key: new Uint8Array(48).fill(0x5a),
  });
  assert.equal(load(yaml(['name: LB', 'max-age: session'])).config?.balancers[0]?.cookie?.maxAge, undefined);
});

test('a key file that is missing, too short, too long, readable by everyone or writable by others stops the load, at its line', () => {
  const expected = 'expected a file of 32 to 4096 random bytes that other users can neither read nor write, made with `head -c 32 /dev/urandom > FILE; chmod 600 FILE`';
  const missing = join(dir, 'missing.key');
  assert.deepEqual(load(yaml(['name: R', `key-file: ${missing}`])).messages, [`16: balancers.app.cookie.key-file: cannot read ${missing} (no such file); ${expected}`]);
  const short = keyFile('short.key', 31);
  assert.deepEqual(load(yaml(['name: R', `key-file: ${short}`])).messages, [`16: balancers.app.cookie.key-file: ${short} holds 31 bytes, too short a key; ${expected}`]);
  const open = keyFile('open.key', 32, 0o644);
  assert.deepEqual(load(yaml(['name: R', `key-file: ${open}`])).messages, [`16: balancers.app.cookie.key-file: ${open} is readable by every user (mode 644); ${expected}`]);
  assert.deepEqual(load(yaml(['name: R', `key-file: ${dir}`])).messages, [`16: balancers.app.cookie.key-file: ${dir} is not a file; ${expected}`]);
  for (const mode of [0o620, 0o602, 0o660]) {
    const writable = keyFile(`writable-${mode.toString(8)}.key`, 32, mode);
    assert.deepEqual(load(yaml(['name: R', `key-file: ${writable}`])).messages, [`16: balancers.app.cookie.key-file: ${writable} is writable by other users (mode ${mode.toString(8)}); ${expected}`]);
  }
  const long = keyFile('long.key', 4097);
  assert.deepEqual(load(yaml(['name: R', `key-file: ${long}`])).messages, [`16: balancers.app.cookie.key-file: ${long} holds more than 4096 bytes, too long for a key (another file?); ${expected}`]);
  const fifo = join(dir, 'fifo.key');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  assert.deepEqual(load(yaml(['name: R', `key-file: ${fifo}`])).messages, [`16: balancers.app.cookie.key-file: ${fifo} is not a file; ${expected}`], 'refused without hanging');
  assert.deepEqual(load(yaml(['name: R', `key-file: ${keyFile('ok.key', 32, 0o640)}`])).messages, []);
  assert.equal(load(yaml(['name: R', `key-file: ${keyFile('longest.key', 4096)}`])).config?.balancers[0]?.cookie?.key?.length, 4096);
});

test('a relative key file is read beside the YAML file', () => {
  keyFile('relative.key', 32);
  assert.equal(load(yaml(['name: R', 'key-file: relative.key'])).config?.balancers[0]?.cookie?.key?.length, 32);
});

test('refusals: a bad name, path, attribute, same-site, max-age; None without Secure; the sticky-session name', () => {
  assert.deepEqual(load(yaml(['name: "A B"'])).messages, [
    '15: balancers.app.cookie.name: expected a cookie name such as ROUTEID (letters, digits and !#$%&\'*+-.^_`|~), got "A B"']);
  assert.deepEqual(load(yaml(['path: /'])).messages, ['14: balancers.app.cookie.name: is required']);
  assert.deepEqual(load(yaml(['name: R', 'path: app'])).messages, ['16: balancers.app.cookie.path: expected a URL path starting with /, such as / or /app, got "app"']);
  assert.deepEqual(load(yaml(['name: R', 'domain: "a;b"'])).messages, ['16: balancers.app.cookie.domain: expected a domain such as example.com, without spaces or ";", got "a;b"']);
  assert.deepEqual(load(yaml(['name: R', 'same-site: lax'])).messages, ['16: balancers.app.cookie.same-site: expected one of Lax, Strict, None, got "lax"']);
  assert.deepEqual(load(yaml(['name: R', 'max-age: 0'])).messages, ['16: balancers.app.cookie.max-age: expected a number of seconds such as 86400, or session, got 0']);
  assert.deepEqual(load(yaml(['name: R', 'same-site: None', 'secure: false'])).messages, [
    '17: balancers.app.cookie.secure: browsers drop a SameSite=None cookie that is not Secure; expected secure: true (or no secure key) with same-site: None']);
  assert.deepEqual(load(yaml(['name: JSESSIONID'])).messages, [
    '15: balancers.app.cookie.name: "JSESSIONID" is the sticky-session cookie, which the members issue; expected another name, such as ROUTEID']);
});

test('every member needs a route a cookie can carry', () => {
  assert.deepEqual(load(yaml(['name: R'], ['n1', ''])).messages, [
    "12: balancers.app.members[1].url: has no route, and the balancer's cookie names members by route; expected a route without spaces, quotes, commas, semicolons or backslashes, such as n1"]);
  assert.deepEqual(load(yaml(['name: R'], ['n1', '"n;2"'])).messages, [
    "13: balancers.app.members[1].route: route \"n;2\" cannot be a cookie value, and the balancer's cookie names members by route; expected a route without spaces, quotes, commas, semicolons or backslashes, such as n1"]);
});
