import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalAddress, memberLoop, memberLoopProblem, type ThisMachine } from '../../src/config/member-loop.ts';
import { parseHostsFile, thisMachine } from '../../src/config/this-machine.ts';

const machine: ThisMachine = {
  addresses: ['127.0.0.1', '::1', '10.0.0.7', 'fe80::1'],
  names: new Map([['proxy1', ['127.0.1.1']], ['self.example', ['10.0.0.7']], ['node2', ['10.0.0.8']]]),
};
const any = [{ host: '0.0.0.0', port: 8443 }, { host: '127.0.0.1', port: 9090 }];

test('a member on a listener bound to every address is refused for any address of this machine', () => {
  for (const url of [
    'https://127.0.0.1:8443', 'https://127.9.9.9:8443', 'https://localhost:8443/app', 'https://api.localhost:8443',
    'https://LOCALHOST.:8443', 'https://[::1]:8443', 'https://[::ffff:127.0.0.1]:8443', 'https://10.0.0.7:8443',
    'https://self.example:8443', 'https://0.0.0.0:8443', 'https://[::]:8443', 'https://127.1:8443', 'https://2130706433:8443',
    'https://0x7f.1:8443', 'https://[0:0:0:0:0:0:0:1]:8443', 'https://[fe80::1]:8443',
  ]) assert.deepEqual(memberLoop(url, any, machine), any[0], url);
});

test('a listener on one address is reached only through that address', () => {
  assert.deepEqual(memberLoop('http://localhost:9090', any, machine), any[1]);
  assert.deepEqual(memberLoop('http://127.0.0.1:9090/balancer-manager', any, machine), any[1]);
  assert.deepEqual(memberLoop('http://0.0.0.0:9090', any, machine), any[1]);
  assert.equal(memberLoop('http://127.0.0.2:9090', any, machine), undefined);
  assert.equal(memberLoop('http://10.0.0.7:9090', any, machine), undefined);
  assert.equal(memberLoop('http://[::1]:9090', any, machine), undefined);
  assert.deepEqual(memberLoop('http://proxy1:8080', [{ host: '127.0.1.1', port: 8080 }], machine), { host: '127.0.1.1', port: 8080 });
  assert.deepEqual(memberLoop('http://127.0.0.1:80', [{ host: 'localhost', port: 80 }], machine), { host: 'localhost', port: 80 });
});

test('the port must match, default ports included; other hosts, unknown names and port 0 never match', () => {
  assert.deepEqual(memberLoop('https://127.0.0.1', [{ host: '0.0.0.0', port: 443 }], machine), { host: '0.0.0.0', port: 443 });
  assert.deepEqual(memberLoop('http://127.0.0.1', [{ host: '::', port: 80 }], machine), { host: '::', port: 80 });
  assert.equal(memberLoop('http://127.0.0.1', [{ host: '0.0.0.0', port: 443 }], machine), undefined);
  for (const url of ['https://127.0.0.1:8444', 'https://10.0.0.8:8443', 'https://node2:8443', 'https://tomcat.internal:8443', 'not a url']) {
    assert.equal(memberLoop(url, any, machine), undefined, url);
  }
  assert.equal(memberLoop('http://127.0.0.1:80', [{ host: '0.0.0.0', port: 0 }], machine), undefined);
});

test('the refusal names the URL, the listener and why', () => {
  const problem = memberLoopProblem('http://localhost:9090', any, machine);
  assert.match(problem!, /^http:\/\/localhost:9090 is Stickler's own listener 127\.0\.0\.1:9090: .*Require local.*expected the address of another server$/);
  assert.match(memberLoopProblem('http://[::1]:80', [{ host: '::', port: 80 }], machine)!, /listener \[::\]:80/);
  assert.equal(memberLoopProblem('http://10.0.0.8:9090', any, machine), undefined);
});

test('canonicalAddress spells each address one way', () => {
  assert.equal(canonicalAddress('[::FFFF:7f00:1]'), '127.0.0.1');
  assert.equal(canonicalAddress('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(canonicalAddress('0:0::1'), '::1');
  assert.equal(canonicalAddress('127.1'), '127.0.0.1');
});

test('every spelling of a loopback address on a wildcard listener\'s port is refused (property)', () => {
  const loopback = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
    .chain(([b, c, d]) => fc.constantFrom(`127.${b}.${c}.${d}`, `[::ffff:127.${b}.${c}.${d}]`, `${(127 << 24 | b << 16 | c << 8 | d) >>> 0}`));
  fc.assert(fc.property(loopback, fc.integer({ min: 1, max: 65535 }), (host, port) => {
    assert.deepEqual(memberLoop(`http://${host}:${port}/x`, [{ host: '0.0.0.0', port }], machine), { host: '0.0.0.0', port });
  }));
});

test('arbitrary member URLs never throw, and only URLs on a listener port are refused (property)', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl()), (url) => {
    const found = memberLoop(url, any, machine);
    if (found) assert.ok([8443, 9090].includes(found.port));
  }));
});

test('hosts(5) lines: comments, aliases, several addresses for a name', () => {
  const names = parseHostsFile('127.0.0.1 localhost\n# 10.0.0.1 hidden\n127.0.1.1\tProxy1.example. proxy1 # own\n::1 localhost ip6-localhost\n\nbad-line\n');
  assert.deepEqual(names.get('localhost'), ['127.0.0.1', '::1']);
  assert.deepEqual(names.get('proxy1.example'), ['127.0.1.1']);
  assert.deepEqual(names.get('proxy1'), ['127.0.1.1']);
  assert.equal(names.has('hidden'), false);
  assert.equal(names.has('bad-line'), false);
});

test('this machine: its loopback, and a hosts file that cannot be read is no names', () => {
  const here = thisMachine('/nonexistent/hosts');
  assert.ok(here.addresses.includes('127.0.0.1'));
  assert.equal(here.names.has('localhost'), false);
});
