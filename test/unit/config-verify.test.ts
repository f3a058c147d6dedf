// The verification --check, the start and every reload run on a loaded configuration: each file kind broken in
// the way operators break it, in both configuration formats, reported at the line that names the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApacheConfig } from '../../src/config/apache/load.ts';
import { loadNativeConfig } from '../../src/config/native/load.ts';
import { formatDiagnostic, type LoadResult } from '../../src/config/model.ts';
import { foldDualStack, listenerClashes } from '../../src/config/listeners.ts';
import { programProblem, verified, verifyConfig, writeProblem, type VerifyFiles } from '../../src/check/verify.ts';
import { diagnosticLines, sitesOf } from '../../src/config/diagnostics.ts';
import { testCertificate } from '../support/certs.ts';

interface Setup {
  dir: string;
  cert: string;
  key: string;
  /** A key of another certificate. */
  otherKey: string;
}

async function setup(t: { after(fn: () => void): void }): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-verify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { certFile, keyFile } = await testCertificate(dir);
  const other = mkdtempSync(join(dir, 'other-'));
  const { keyFile: otherKey } = await testCertificate(other);
  return { dir, cert: certFile, key: keyFile, otherKey };
}

function apache(s: Setup, lines: string[]): { file: string; result: LoadResult } {
  const file = join(s.dir, 'site.conf');
  writeFileSync(file, [
    'Listen 127.0.0.1:8443',
    '<VirtualHost *:8443>',
    'SSLEngine On',
    ...lines,
    'ProxyPass / balancer://c/',
    '<Proxy balancer://c>',
    'BalancerMember http://127.0.0.1:9001 route=a',
    '</Proxy>',
    '</VirtualHost>',
  ].join('\n') + '\n');
  return { file, result: loadApacheConfig(file) };
}

function errors(result: LoadResult): string[] {
  assert.ok(result.config, result.diagnostics.map(formatDiagnostic).join('\n'));
  return verifyConfig(result.config).map(formatDiagnostic);
}

test('a configuration whose files are all good passes', async (t) => {
  const s = await setup(t);
  const { result } = apache(s, [`SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.key}`]);
  assert.deepEqual(errors(result), []);
});

test('a key that does not match its certificate is named as such, on the key\'s line', async (t) => {
  const s = await setup(t);
  const { file, result } = apache(s, [`SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.otherKey}`]);
  assert.deepEqual(errors(result), [
    `${file}:5: SSLCertificateKeyFile: the private key in ${s.otherKey} does not match the certificate in ${s.cert} (SSLCertificateFile at line 4); expected the key the certificate was issued for`,
  ]);
});

test('a missing certificate, a corrupt PEM, a certificate given as the key and an encrypted key say what is wrong in words', async (t) => {
  const s = await setup(t);
  const missing = join(s.dir, 'absent.pem');
  const corrupt = join(s.dir, 'corrupt.pem');
  writeFileSync(corrupt, '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n');
  const notPem = join(s.dir, 'not.pem');
  writeFileSync(notPem, 'hello\n');
  const encrypted = join(s.dir, 'encrypted.key');
  writeFileSync(encrypted, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n');
  const cases: Array<[string, string, RegExp]> = [
    [missing, s.key, new RegExp(`:4: SSLCertificateFile: cannot read ${missing}: no such file \\(ENOENT\\)$`)],
    [corrupt, s.key, /:4: SSLCertificateFile: certificate 1 in .*corrupt\.pem is damaged: its PEM block does not decode to a certificate/],
    [notPem, s.key, /:4: SSLCertificateFile: .*not\.pem is not a PEM file \(no "-----BEGIN CERTIFICATE-----" line\)/],
    [s.key, s.key, /:4: SSLCertificateFile: .*key\.pem holds a PRIVATE KEY block, not a certificate/],
    [s.cert, s.cert, /:5: SSLCertificateKeyFile: .*cert\.pem holds a CERTIFICATE block, not a private key/],
    [s.cert, encrypted, /:5: SSLCertificateKeyFile: the private key in .*encrypted\.key is encrypted with a passphrase/],
  ];
  for (const [cert, key, expected] of cases) {
    const found = errors(apache(s, [`SSLCertificateFile ${cert}`, `SSLCertificateKeyFile ${key}`]).result);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, expected);
    assert.doesNotMatch(found[0]!, /^[^(]*error:[0-9A-F]{8}/, 'OpenSSL text only in parentheses');
  }
});

test('a missing or broken CA file for the members is refused at SSLProxyCACertificateFile', async (t) => {
  const s = await setup(t);
  const ca = join(s.dir, 'ca.pem');
  const { file, result } = apache(s, [`SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.key}`, 'SSLProxyEngine On', 'SSLProxyVerify require', `SSLProxyCACertificateFile ${ca}`]);
  assert.deepEqual(errors(result), [`${file}:8: SSLProxyCACertificateFile: cannot read ${ca}: no such file (ENOENT)`]);
  writeFileSync(ca, 'not a certificate\n');
  assert.deepEqual(verifyConfig(result.config!).map(formatDiagnostic), [
    `${file}:8: SSLProxyCACertificateFile: ${ca} is not a PEM file (no "-----BEGIN CERTIFICATE-----" line); expected a PEM certificate`,
  ]);
});

test('an htpasswd file with a non-bcrypt line is refused at its AuthUserFile, naming the htpasswd line', async (t) => {
  const s = await setup(t);
  const htpasswd = join(s.dir, 'htpasswd');
  writeFileSync(htpasswd, 'ops:$apr1$abc$def\n');
  const { file, result } = apache(s, [
    `SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.key}`,
    '<Location /balancer-manager>', 'SetHandler balancer-manager', 'AuthType Basic', 'AuthName m', `AuthUserFile ${htpasswd}`, 'Require valid-user', '</Location>',
  ]);
  const found = errors(result);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(found[0]!, new RegExp(`^${file}:10: AuthUserFile: ${htpasswd}:1: user "ops" has an Apache MD5 \\(\\$apr1\\$\\) hash`));
});

test('an access log whose directory does not exist, or whose parent is a file, is refused at CustomLog (root can write anywhere else)', async (t) => {
  const s = await setup(t);
  const plain = join(s.dir, 'plain');
  writeFileSync(plain, '');
  for (const [log, why] of [
    [join(s.dir, 'no-such-dir', 'access.log'), `the directory ${join(s.dir, 'no-such-dir')} does not exist`],
    [join(plain, 'access.log'), `${plain} is not a directory`],
  ] as const) {
    const { file, result } = apache(s, [`SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.key}`, `CustomLog ${log} combined`]);
    assert.deepEqual(errors(result), [`${file}:6: CustomLog: cannot create ${log}: ${why}`]);
  }
});

test('writeProblem: a directory, an unwritable file, an unwritable directory', () => {
  const files = (kinds: Record<string, 'file' | 'directory'>, writable: string[]): VerifyFiles => ({
    read: () => Buffer.alloc(0),
    kind: (p) => kinds[p],
    writable: (p) => writable.includes(p),
    executable: () => false,
  });
  assert.equal(writeProblem('/l', files({ '/l': 'directory' }, ['/l'])), '/l is a directory; expected a file path');
  assert.equal(writeProblem('/d/a.log', files({ '/d/a.log': 'file' }, [])), '/d/a.log is not writable');
  assert.equal(writeProblem('/d/a.log', files({ '/d': 'directory' }, [])), 'cannot create /d/a.log: the directory /d is not writable');
  assert.equal(writeProblem('/d/a.log', files({ '/d': 'directory' }, ['/d'])), undefined);
});

test('the same address and port twice, and a wildcard beside an address it takes, are refused as httpd and the kernel do', () => {
  const l = (line: number, host: string, port: number) => ({ source: { file: 'f.conf', line }, host, port, tls: false });
  assert.deepEqual(listenerClashes([l(1, '127.0.0.1', 80), l(2, '127.0.0.1', 81), l(3, '127.0.0.2', 80)]), []);
  assert.deepEqual(listenerClashes([l(1, '127.0.0.1', 80), l(2, '127.0.0.1', 80)]).map(formatDiagnostic), [
    'f.conf:2: Listen: 127.0.0.1:80 is already listened on at line 1; httpd refuses multiple listeners on the same address and port; expected one Listen per address:port',
  ]);
  assert.deepEqual(listenerClashes([l(1, '0.0.0.0', 80), l(2, '127.0.0.1', 80)]).map(formatDiagnostic), [
    'f.conf:2: Listen: 127.0.0.1:80 and 0.0.0.0:80 (line 1) cannot both be bound (httpd fails to start too: Address already in use): 0.0.0.0 already takes every IPv4 address on port 80; expected either the wildcard or specific addresses',
  ]);
  // `::` is bound with IPv4-mapped addresses, as httpd binds it: it takes 127.0.0.1 too.
  assert.deepEqual(listenerClashes([l(1, '127.0.0.1', 80), l(2, '::', 80), l(3, '::1', 80)]).map(formatDiagnostic), [
    'f.conf:2: Listen: [::]:80 and 127.0.0.1:80 (line 1) cannot both be bound (httpd fails to start too: Address already in use): [::] already takes every address on port 80, IPv4 ones too; expected either the wildcard or specific addresses',
    'f.conf:3: Listen: [::1]:80 and [::]:80 (line 2) cannot both be bound (httpd fails to start too: Address already in use): [::] already takes every address on port 80, IPv4 ones too; expected either the wildcard or specific addresses',
  ]);
  // Apart families: httpd binds both (checked with Debian's apache2 2.4.71).
  assert.deepEqual(listenerClashes([l(1, '0.0.0.0', 80), l(2, '::1', 80), l(3, '127.0.0.1', 81), l(4, '::1', 81)]), []);
});

test('0.0.0.0 and :: on one port are one dual-stack socket, as httpd binds them; the configuration passes', async (t) => {
  const l = (line: number, host: string, port: number, tls = false) => ({ source: { file: 'f.conf', line }, host, port, tls });
  const hosts = (ls: ReturnType<typeof foldDualStack>) => ls.map((x) => `${x.host} ${x.port} @${x.source.line}${x.tls ? ' tls' : ''}`);
  assert.deepEqual(hosts(foldDualStack([l(1, '0.0.0.0', 80), l(2, '::', 80), l(3, '127.0.0.1', 81)])), [':: 80 @2', '127.0.0.1 81 @3']);
  assert.deepEqual(hosts(foldDualStack([l(1, '::', 443, true), l(2, '127.0.0.1', 81), l(3, '0.0.0.0', 443)])), ['127.0.0.1 81 @2', ':: 443 @1 tls']);
  const s = await setup(t);
  for (const [first, second] of [['0.0.0.0:8443', '[::]:8443'], ['[::]:8443', '0.0.0.0:8443'], ['8443', '[::]:8443']]) {
    const file = join(s.dir, 'dual.conf');
    writeFileSync(file, [`Listen ${first}`, `Listen ${second}`, '<VirtualHost *:8443>', 'ProxyPass / balancer://c/', '<Proxy balancer://c>', 'BalancerMember http://127.0.0.1:9001', '</Proxy>', '</VirtualHost>'].join('\n'));
    const result = loadApacheConfig(file);
    assert.deepEqual(result.config?.listeners.map((x) => `${x.host} ${x.port}`), [':: 8443'], `${first} + ${second}`);
    assert.deepEqual(errors(result), []);
  }
});

test('a configuration the verification refuses still prints the warnings about its sites first', async (t) => {
  const s = await setup(t);
  const main = join(s.dir, 'main.conf');
  const site = join(s.dir, 'site.conf');
  writeFileSync(main, ['Listen 127.0.0.1:8443', 'SSLCipherSuite HIGH', `Include ${site}`].join('\n'));
  writeFileSync(site, [
    '<VirtualHost *:8443>',
    'SSLEngine On',
    `SSLCertificateFile ${join(s.dir, 'missing.pem')}`,
    `SSLCertificateKeyFile ${s.key}`,
    'KeepAliveTimeout 3',
    'ProxyPass / http://127.0.0.1:9001/',
    '</VirtualHost>',
  ].join('\n'));
  const result = verified(loadApacheConfig(main));
  assert.equal(result.config, undefined);
  const lines = diagnosticLines(result.diagnostics, { sites: sitesOf(result) }).map((line) => /^(?:warning: )?\S+:\d+: \w+/.exec(line)?.[0]);
  assert.deepEqual(lines, [
    `${site}:3: SSLCertificateFile`,
    `warning: ${site}:5: KeepAliveTimeout`,
    `warning: ${main}:2: SSLCipherSuite`,
  ]);
});

test('native YAML gets the same checks, named by its keys and lines', async (t) => {
  const s = await setup(t);
  const file = join(s.dir, 'stickler.yaml');
  writeFileSync(file, [
    'log:',
    `  access: ${join(s.dir, 'none', 'access.log')}`,
    'listeners:',
    '  - host: 0.0.0.0',
    '    port: 8443',
    '  - host: 127.0.0.1',
    '    port: 8443',
    'virtual-hosts:',
    '  - port: 8443',
    '    tls:',
    `      certificate-file: ${s.cert}`,
    `      key-file: ${s.otherKey}`,
    '    backend-tls:',
    `      ca-file: ${join(s.dir, 'ca.pem')}`,
    '    routes:',
    '      - { path: /, balancer: c }',
    'balancers:',
    '  c:',
    '    members:',
    '      - { url: "http://127.0.0.1:9001", route: a }',
  ].join('\n') + '\n');
  const result = loadNativeConfig(file);
  assert.ok(result.config, result.diagnostics.map(formatDiagnostic).join('\n'));
  const found = verifyConfig(result.config).map((d) => `${d.file === file ? '' : d.file}:${d.line}: ${d.directive}`);
  assert.deepEqual(found, [':6: listeners', ':12: tls.key-file', ':14: backend-tls.ca-file', ':2: log.access']);
});

test('a piped log whose program is missing or not executable is refused at its CustomLog line; |$ needs only /bin/sh', async (t) => {
  const s = await setup(t);
  const script = join(s.dir, 'logger.sh');
  writeFileSync(script, '#!/bin/sh\nexec cat\n', { mode: 0o644 });
  const tls = [`SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.key}`];
  const cases: Array<[string, string | undefined]> = [
    [`"|/nonexistent/rotatelogs /tmp/x 86400"`, `the piped log's program /nonexistent/rotatelogs does not exist`],
    [`"||no-such-logger-program -x"`, `the piped log's program no-such-logger-program is not found in PATH`],
    [`"|${script}"`, `the piped log's program ${script} is not executable`],
    [`"|${s.dir}"`, `the piped log's program ${s.dir} is not a file`],
    [`"|cat"`, undefined],
    [`"|$no-such-logger-program | cat"`, undefined],
  ];
  for (const [destination, problem] of cases) {
    const { file, result } = apache(s, [...tls, `CustomLog ${destination} combined`]);
    const found = errors(result);
    if (problem === undefined) assert.deepEqual(found, [], destination);
    else {
      assert.equal(found.length, 1, found.join('\n'));
      assert.ok(found[0]!.startsWith(`${file}:6: CustomLog: ${problem}`), found[0]!);
    }
  }
});

test('programProblem searches PATH as spawn does: an empty entry is the current directory, no PATH is /usr/bin:/bin', () => {
  const files = { kind: (p: string) => (['/opt/bin/log', './log', '/usr/bin/log', '/x/noexec'].includes(p) ? 'file' as const : undefined), executable: (p: string) => p !== '/x/noexec' };
  assert.equal(programProblem('log', '/nowhere:/opt/bin', files), undefined);
  assert.equal(programProblem('log', '/nowhere::/other', files), undefined, 'the empty entry is .');
  assert.equal(programProblem('log', undefined, files), undefined, 'no PATH: /usr/bin:/bin');
  assert.equal(programProblem('log', '/nowhere', files), `the piped log's program log is not found in PATH (/nowhere)`);
  assert.equal(programProblem('/x/noexec', '/opt/bin', files), `the piped log's program /x/noexec is not executable`);
});

test('a log problem names the directive written: TransferLog, or --access-log for the command line\'s', async (t) => {
  const s = await setup(t);
  const missing = join(s.dir, 'none', 'access.log');
  const { file, result } = apache(s, [`SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.key}`, `TransferLog ${missing}`]);
  assert.deepEqual(errors(result), [`${file}:6: TransferLog: cannot create ${missing}: the directory ${join(s.dir, 'none')} does not exist`]);
  const good = apache(s, [`SSLCertificateFile ${s.cert}`, `SSLCertificateKeyFile ${s.key}`]).result.config!;
  good.log.access = missing;
  assert.deepEqual(verifyConfig(good).map(formatDiagnostic), [`${file}:0: --access-log: cannot create ${missing}: the directory ${join(s.dir, 'none')} does not exist`]);
});

test('env= on a variable Stickler never sets is said to be always true or always false, at the CustomLog line', async (t) => {
  const s = await setup(t);
  const log = join(s.dir, 'a.log');
  const { file, result } = apache(s, [`CustomLog ${log} combined env=!dontlog`, `CustomLog ${log} combined env=dontlog`, `CustomLog ${log} combined env=BALANCER_ROUTE_CHANGED`, `CustomLog ${log} combined env=SSL_CLIENT_S_DN`]);
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning' && d.message.startsWith('env=')).map(formatDiagnostic);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0]!, new RegExp(`^${file}:4: CustomLog: env=!dontlog is always true: this log takes every request, since Stickler never sets dontlog \\(it ignores SetEnvIf, SetEnv and BrowserMatch`));
  assert.match(warnings[1]!, new RegExp(`^${file}:5: CustomLog: env=dontlog is always false: this log takes no request`));
});
