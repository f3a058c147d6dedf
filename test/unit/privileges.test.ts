// The pure parts of User/Group: reading the account as written and as getent prints it, what the start decides
// from who started it, what the account may write, and what a reload after the drop cannot do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAccount, parseGroupEntry, parsePasswdEntry } from '../../src/config/account.ts';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { resolveRunAs, type AccountLookup, type Identity } from '../../src/server/accounts.ts';
import { deniedAsAccount, mayWrite, privilegePlan, reloadBlockers } from '../../src/server/privilege-plan.ts';
import type { ListenerConfig, RunAs } from '../../src/config/model.ts';

const nobody: Identity = { user: 'nobody', uid: 65534, group: 'nogroup', gid: 65534 };

test('an account is a name or #id; anything else is an error saying what was expected', () => {
  assert.deepEqual(parseAccount('www-data', 'user'), { name: 'www-data' });
  assert.deepEqual(parseAccount('#33', 'group'), { id: 33 });
  assert.deepEqual(parseAccount(33, 'user'), { id: 33 });
  assert.match((parseAccount('#-1', 'user') as { error: string }).error, /"#-1" is not a user name; expected a user name such as www-data, or #uid such as #33/);
  assert.match((parseAccount('#4294967295', 'user') as { error: string }).error, /out of range/);
  assert.match((parseAccount('a b', 'group') as { error: string }).error, /expected a group name/);
});

test('property: parseAccount never throws, and what it accepts prints back as it was written', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.integer()), (input) => {
    const parsed = parseAccount(input, 'user');
    if ('error' in parsed) return;
    const text = 'name' in parsed ? parsed.name : typeof input === 'number' ? String(parsed.id) : `#${parsed.id}`;
    assert.equal(text, String(input).replace(/^#0+(?=\d)/, '#'));
  }));
});

test('getent lines: passwd and group entries, anything malformed is no entry', () => {
  assert.deepEqual(parsePasswdEntry('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'), { name: 'nobody', uid: 65534, gid: 65534 });
  assert.deepEqual(parseGroupEntry('nogroup:x:65534:'), { name: 'nogroup', gid: 65534 });
  assert.equal(parsePasswdEntry('nobody:x:abc:1:::'), undefined);
  assert.equal(parseGroupEntry('nogroup:x:65534'), undefined);
  fc.assert(fc.property(fc.string(), (line) => {
    parsePasswdEntry(line);
    parseGroupEntry(line);
  }));
});

test('the plan: root drops to the account, root without one warns, another user cannot switch and warns', () => {
  assert.deepEqual(privilegePlan(0, nobody), { kind: 'drop', to: nobody });
  const plan = privilegePlan(0, undefined);
  assert.equal(plan.kind, 'warn');
  assert.match((plan as { message: string }).message, /running as root.*CAP_NET_BIND_SERVICE/);
  assert.match((privilegePlan(1000, nobody) as { message: string }).message, /User nobody ignored: Stickler runs as uid 1000, not root/);
  assert.deepEqual(privilegePlan(65534, nobody), { kind: 'none' });
  assert.deepEqual(privilegePlan(1000, undefined), { kind: 'none' });
});

test('mayWrite reads the owner, then the group, then the others bits; a directory needs write and search', () => {
  assert.equal(mayWrite({ uid: 65534, gid: 0, mode: 0o600 }, nobody, false), true);
  assert.equal(mayWrite({ uid: 0, gid: 65534, mode: 0o640 }, nobody, false), false);
  assert.equal(mayWrite({ uid: 0, gid: 65534, mode: 0o660 }, nobody, false), true);
  assert.equal(mayWrite({ uid: 0, gid: 0, mode: 0o777 }, nobody, true), true);
  assert.equal(mayWrite({ uid: 0, gid: 65534, mode: 0o720 }, nobody, true), false);
  // The owner's bits decide for the owner even when the others' would allow it.
  assert.equal(mayWrite({ uid: 65534, gid: 0, mode: 0o577 }, nobody, false), false);
});

const listener = (port: number, line = 3): ListenerConfig => ({ source: { file: '/etc/stickler.yaml', line }, host: '127.0.0.1', port, tls: true });

test('a reload after the drop: a new low port and a changed account are refused, ports kept or high are not', () => {
  assert.deepEqual(reloadBlockers(nobody, [listener(443)], [listener(443), listener(8443)], nobody), []);
  const [low] = reloadBlockers(nobody, [listener(443)], [listener(443), listener(444, 7)], nobody);
  assert.match(low!, /^\/etc\/stickler\.yaml:7: 127\.0\.0\.1:444 is a new port below 1024, and Stickler gave up root for nobody at start/);
  assert.match(reloadBlockers(nobody, [], [], { ...nobody, user: 'www-data', uid: 33 }).join(), /now names www-data:nogroup.*takes a restart/);
  assert.match(reloadBlockers(nobody, [], [], undefined).join(), /now names no account/);
});

const lookup: AccountLookup = {
  user: (s) => ('name' in s ? (s.name === 'nobody' ? { name: 'nobody', uid: 65534, gid: 65534 } : s.name === 'root' ? { name: 'root', uid: 0, gid: 0 } : undefined) : undefined),
  group: (s) => (('name' in s && s.name === 'nogroup') || ('id' in s && s.id === 65534) ? { name: 'nogroup', gid: 65534 } : undefined),
};
const at = (line: number) => ({ file: '/etc/apache2/apache2.conf', line });

test('a reload refused after the drop for want of permission says it read as the account; other refusals do not', () => {
  assert.match(deniedAsAccount(nobody, ['a.yaml:3: tls.key-file: cannot read /k.pem: permission denied (EACCES)'])!, /read its files as nobody:nogroup, .* not as root/);
  assert.match(deniedAsAccount(nobody, ['a.yaml:9: log.access: cannot open x.log: (EPERM)'])!, /nobody:nogroup/);
  assert.equal(deniedAsAccount(nobody, ['a.yaml:2: balancers: expected a mapping', 'cannot read /k.pem: no such file (ENOENT)']), undefined);
});

test('resolveRunAs: the user\'s own group by default, a bare #uid needs a Group, root and unknown names are errors', () => {
  assert.deepEqual(resolveRunAs({ user: { name: 'nobody', source: at(1) } }, 'apache', lookup), nobody);
  assert.deepEqual(resolveRunAs({ user: { id: 1234, source: at(1) }, group: { id: 65534, source: at(2) } }, 'apache', lookup), { user: '#1234', uid: 1234, group: 'nogroup', gid: 65534 });
  const problems = (runAs: RunAs) => (resolveRunAs(runAs, 'apache', lookup) as Array<{ line: number; directive: string; message: string }>).map((d) => `${d.line}: ${d.directive}: ${d.message}`);
  assert.match(problems({ user: { name: 'ghost', source: at(4) } }).join(), /^4: User: no user ghost on this system/);
  assert.match(problems({ user: { name: 'root', source: at(4) } }).join(), /^4: User: root is root; expected an unprivileged account/);
  assert.match(problems({ user: { id: 1234, source: at(4) } }).join(), /^4: User: user #1234 has no passwd entry, so no group of its own; expected a Group too/);
  assert.match(problems({ user: { name: 'nobody', source: at(4) }, group: { name: 'ghosts', source: at(5) } }).join(), /^5: Group: no group ghosts/);
});

const apache = (lines: string) => loadApacheConfigText(`Listen 127.0.0.1:8443\n${lines}\n<VirtualHost *:8443>\nServerName x\n</VirtualHost>\n`, '/etc/apache2/apache2.conf', {});

test('Apache User and Group are read, with Define and #id; Group alone, extra words and bad names are errors', () => {
  const { config } = apache('Define RUN_USER nobody\nUser ${RUN_USER}\nGroup #65534');
  assert.deepEqual(config?.runAs, { user: { name: 'nobody', source: at(3) }, group: { id: 65534, source: at(4) } });
  const errors = (lines: string) => apache(lines).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.directive}: ${d.message}`);
  assert.match(errors('Group nogroup').join(), /^2: Group: Group without User would keep serving as root/);
  assert.match(errors('User a b').join(), /^2: User: /);
  assert.match(errors('User "a;b"').join(), /^2: User: "a;b" is not a user name/);
  assert.equal(apache('User nobody').diagnostics.some((d) => /User/.test(d.directive)), false);
});

test('native user and group, and convert writes them back (a number as a number)', () => {
  const yaml = (top: string) => loadNativeConfigText(`${top}listeners:\n  - port: 8443\nvirtual-hosts:\n  - port: 8443\n    tls: { certificate-file: c.pem, key-file: k.pem }\n`, '/etc/stickler.yaml');
  const { config } = yaml('user: nobody\ngroup: 65534\n');
  assert.deepEqual(config?.runAs, { user: { name: 'nobody', source: { file: '/etc/stickler.yaml', line: 1 } }, group: { id: 65534, source: { file: '/etc/stickler.yaml', line: 2 } } });
  assert.match(toYaml(config!), /^user: nobody\ngroup: 65534\n/m);
  assert.match(yaml('group: nogroup\n').diagnostics.map((d) => `${d.line}: ${d.message}`).join(), /1: group without user would keep serving as root/);
  assert.match(yaml('user: [a]\n').diagnostics.map((d) => d.message).join(), /expected a user name such as www-data, or a number such as 33/);
  assert.match(toYaml(apache('User #33\nGroup www-data').config!), /^user: 33\ngroup: www-data$/m);
});
