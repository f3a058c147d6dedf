import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessRule, HostMatch } from '../../src/config/model.ts';
import { isAllowed } from '../../src/proxy/access.ts';
import { inRange, parseIp, parseIpRange } from '../../src/config/ip-range.ts';

const source = { file: 'test.conf', line: 1 };
const ip = (cidr: string): HostMatch => ({ kind: 'ip', cidr });
const all: HostMatch = { kind: 'all' };

function requireRule(match: Extract<AccessRule, { kind: 'require' }>['match'], negate = false): AccessRule {
  return { kind: 'require', source, negate, match };
}
function legacy(order: 'deny,allow' | 'allow,deny', allow: HostMatch[], deny: HostMatch[]): AccessRule {
  return { kind: 'legacy', source, order, allow, deny };
}

test('no rules: allowed', () => {
  assert.equal(isAllowed([], '203.0.113.1'), true);
  assert.equal(isAllowed([], 'garbage'), true);
});

test('Require all granted / all denied', () => {
  assert.equal(isAllowed([requireRule('all-granted')], '203.0.113.1'), true);
  assert.equal(isAllowed([requireRule('all-denied')], '127.0.0.1'), false);
});

test('Require local: 127.0.0.0/8, ::1 and their IPv4-mapped forms', () => {
  const rules = [requireRule('local')];
  for (const local of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1', '::FFFF:127.1.2.3']) {
    assert.equal(isAllowed(rules, local), true, local);
  }
  for (const remote of ['128.0.0.1', '10.0.0.1', '::2', '::ffff:10.0.0.1', 'fe80::1', 'localhost', '']) {
    assert.equal(isAllowed(rules, remote), false, remote);
  }
});

test('Require ip: CIDR, netmask, partial, single, IPv6', () => {
  assert.equal(isAllowed([requireRule(ip('10.1.0.0/16'))], '10.1.200.3'), true);
  assert.equal(isAllowed([requireRule(ip('10.1.0.0/16'))], '10.2.0.1'), false);
  assert.equal(isAllowed([requireRule(ip('10.1.0.0/255.255.0.0'))], '10.1.9.9'), true);
  assert.equal(isAllowed([requireRule(ip('10.1'))], '10.1.9.9'), true);
  assert.equal(isAllowed([requireRule(ip('10.1'))], '10.10.9.9'), false);
  assert.equal(isAllowed([requireRule(ip('192.168.1.7'))], '192.168.1.7'), true);
  assert.equal(isAllowed([requireRule(ip('192.168.1.7'))], '192.168.1.8'), false);
  assert.equal(isAllowed([requireRule(ip('2001:db8::/32'))], '2001:db8:1::5'), true);
  assert.equal(isAllowed([requireRule(ip('2001:db8::/32'))], '2001:db9::5'), false);
  assert.equal(isAllowed([requireRule(ip('10.0.0.0/8'))], '::ffff:10.9.8.7'), true);
  assert.equal(isAllowed([requireRule(ip('10.0.0.0/8'))], '2001:db8::1'), false);
});

test('several Require lines: any positive grants, a matching negation denies', () => {
  const rules = [requireRule(ip('10.0.0.0/8')), requireRule(ip('192.168.0.0/16'))];
  assert.equal(isAllowed(rules, '192.168.3.4'), true);
  assert.equal(isAllowed(rules, '172.16.0.1'), false);
  const allBut = [requireRule('all-granted'), requireRule(ip('10.6.6.6'), true)];
  assert.equal(isAllowed(allBut, '10.6.6.6'), false);
  assert.equal(isAllowed(allBut, '10.6.6.7'), true);
  assert.equal(isAllowed([requireRule(ip('10.6.6.6'), true)], '1.2.3.4'), false, 'negations alone grant nothing');
});

test('Require takes precedence over Order/Allow/Deny in the same section', () => {
  const rules = [legacy('deny,allow', [], [all]), requireRule('all-granted')];
  assert.equal(isAllowed(rules, '1.2.3.4'), true);
});

test('Order deny,allow: allowed unless denied and not explicitly allowed', () => {
  const rules = [legacy('deny,allow', [ip('127.0.0.1')], [all])];
  assert.equal(isAllowed(rules, '127.0.0.1'), true);
  assert.equal(isAllowed(rules, '10.0.0.1'), false);
  assert.equal(isAllowed([legacy('deny,allow', [], [])], '10.0.0.1'), true);
  assert.equal(isAllowed([legacy('deny,allow', [], [ip('10.0')])], '10.0.0.1'), false);
});

test('Order allow,deny: denied unless allowed and not denied', () => {
  const rules = [legacy('allow,deny', [all], [ip('10.6.6.6')])];
  assert.equal(isAllowed(rules, '10.6.6.6'), false);
  assert.equal(isAllowed(rules, '10.6.6.7'), true);
  assert.equal(isAllowed([legacy('allow,deny', [], [])], '10.0.0.1'), false);
  assert.equal(isAllowed([legacy('allow,deny', [ip('10.1')], [])], '::ffff:10.1.2.3'), true);
});

test('host names never match: no reverse DNS on the request path', () => {
  assert.equal(isAllowed([requireRule({ kind: 'host', name: 'example.com' })], '93.184.216.34'), false);
  assert.equal(isAllowed([legacy('deny,allow', [{ kind: 'host', name: 'corp' }], [all])], '10.0.0.1'), false);
  assert.equal(isAllowed([legacy('deny,allow', [], [{ kind: 'host', name: 'evil' }])], '10.0.0.1'), true);
});

test('invalid rule addresses and client addresses match nothing and do not throw', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0.0/255.0.255.0', '1.2.3.4.5', '300.1', 'abc', '::1/129', '1:2:3', '10.0.0.0/']) {
    assert.equal(parseIpRange(bad), undefined, bad);
    assert.equal(isAllowed([requireRule(ip(bad))], '10.0.0.1'), false, bad);
  }
  for (const client of ['', '1.2.3', '1.2.3.256', '::ffff:1.2.3', ':::', 'x'.repeat(10_000), '1::2::3']) {
    assert.equal(parseIp(client), undefined, client);
    assert.equal(isAllowed([requireRule(ip('0.0.0.0/0'))], client), false);
  }
});

test('IP parsing details', () => {
  assert.deepEqual(parseIp('::ffff:1.2.3.4'), Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual(parseIp('fe80::1%eth0')?.slice(0, 2), Uint8Array.of(0xfe, 0x80));
  assert.deepEqual(parseIp('1:2:3:4:5:6:7:8')?.slice(14), Uint8Array.of(0, 8));
  assert.equal(parseIp('1:2:3:4:5:6:7:8:9'), undefined);
  assert.equal(parseIp('1:2:3:4:5:6:7::8'), undefined);
  assert.deepEqual(parseIpRange('10.1.'), { bytes: Uint8Array.of(10, 1, 0, 0), prefix: 16 });
  assert.deepEqual(parseIpRange('0.0.0.0/0.0.0.0')?.prefix, 0);
  assert.deepEqual(parseIpRange('::ffff:10.0.0.0/104'), { bytes: Uint8Array.of(10, 0, 0, 0), prefix: 8 });
  const odd = parseIpRange('10.0.0.0/13')!;
  assert.equal(inRange(parseIp('10.7.255.255')!, odd), true);
  assert.equal(inRange(parseIp('10.8.0.0')!, odd), false);
});
