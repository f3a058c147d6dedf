// Started as root with user/group: the listeners (a port below 1024) are bound and the key read as root, then the
// whole process, worker threads included, serves as nobody:nogroup with no supplementary group and no way back;
// files it makes are nobody's; a reload that needs root (a new low port) is refused with the reason while it
// serves on. Needs root, as the tests have here and in CI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as tcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { testCertificate } from '../support/certs.ts';
import { postManagerEdit } from '../support/manager.ts';
import { freePort } from '../support/ports.ts';
import { runCli, startStickler } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';

const NOBODY = 65534;
const NOGROUP = 65534;
const root = process.geteuid?.() === 0;
const skip = root ? false : 'needs root: Stickler only drops privileges it has (run the tests as root, as CI does)';

/** A free port below 1024 on 127.0.0.1, the kind only root may bind. */
async function lowPort(exclude: number[] = []): Promise<number> {
  for (let port = 900; port < 1000; port++) {
    if (exclude.includes(port)) continue;
    const free = await new Promise<boolean>((done) => {
      const s = tcpServer();
      s.once('error', () => done(false));
      s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port from 900 to 999 on 127.0.0.1');
}

/** The Uid, Gid and Groups lines of a task's status. */
function credentials(status: string): { uid: number[]; gid: number[]; groups: number[] } {
  const field = (name: string) => (status.match(new RegExp(`^${name}:\\t?(.*)$`, 'm'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

let member: Server;
let memberUrl = '';

before(async () => {
  member = createServer((_req, res) => res.end('served'));
  await new Promise<void>((done) => member.listen(0, '127.0.0.1', done));
  memberUrl = `http://127.0.0.1:${(member.address() as { port: number }).port}`;
});

after(() => member?.close());

/** A directory nobody can enter, a key only root and nogroup read, a log directory nobody writes. */
async function layout(): Promise<{ dir: string; logs: string; certFile: string; keyFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-privileges-'));
  chmodSync(dir, 0o755);
  const { certFile, keyFile } = await testCertificate(dir);
  chownSync(keyFile, 0, NOGROUP);
  chmodSync(keyFile, 0o640);
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  chownSync(logs, NOBODY, NOGROUP);
  return { dir, logs, certFile, keyFile };
}

/** The manager on its own TLS listener, its state file and audit log in `dir`. */
const managerSection = (port: number, files: { certFile: string; keyFile: string }, dir: string) => `manager:
  port: ${port}
  tls: { certificate-file: ${files.certFile}, key-file: ${files.keyFile} }
  state-file: ${join(dir, 'state.json')}
  audit-log: ${join(dir, 'audit.log')}
`;

const yaml = (ports: number[], files: { certFile: string; keyFile: string }, log: string, extra = '') => `${extra}user: nobody
group: nogroup
log:
  access: ${log}
listeners:
${ports.map((p) => `  - host: 127.0.0.1\n    port: ${p}\n    tls: on`).join('\n')}
virtual-hosts:
${ports.map((p) => `  - port: ${p}
    server-name: localhost
    tls: { certificate-file: ${files.certFile}, key-file: ${files.keyFile} }
    routes:
      - path: /
        balancer: cluster`).join('\n')}
balancers:
  cluster:
    members:
      - url: ${memberUrl}
`;

/** A fresh layout and a low port, and a configuration file for them whose access log is in `logDir`. */
async function configured(logDir: 'logs' | 'dir' = 'logs', edit = (text: string) => text): Promise<{ files: Awaited<ReturnType<typeof layout>>; port: number; file: string }> {
  const files = await layout();
  const port = await lowPort();
  const file = join(files.dir, 'stickler.yaml');
  writeFileSync(file, edit(yaml([port], files, join(files[logDir], 'access.log'))));
  return { files, port, file };
}

for (const workers of [1, 2]) {
  describe(`privileges with ${workers} worker thread${workers > 1 ? 's' : ''}`, { skip }, () => {
    test('binds a low port and reads the key as root, then every thread serves as nobody:nogroup; a reload that needs root is refused', async () => {
      const files = await layout();
      const port = await lowPort();
      const file = join(files.dir, 'stickler.yaml');
      const accessLog = join(files.logs, 'access.log');
      const managerPort = await freePort();
      const manager = managerSection(managerPort, files, files.logs);
      writeFileSync(file, yaml([port], files, accessLog, manager));
      const pidFile = join(files.logs, 'stickler.pid');
      const stickler = await startStickler(file, { args: ['--workers', String(workers), '--pid-file', pidFile] });
      try {
        const tasks = readdirSync(`/proc/${stickler.pid}/task`);
        // The main thread, the worker threads, libuv's pool: every one of them.
        assert.ok(tasks.length >= 1 + (workers > 1 ? workers : 0), `tasks: ${tasks.join(',')}`);
        for (const task of tasks) {
          const c = credentials(readFileSync(`/proc/${stickler.pid}/task/${task}/status`, 'utf8'));
          assert.deepEqual(c, { uid: [NOBODY, NOBODY, NOBODY, NOBODY], gid: [NOGROUP, NOGROUP, NOGROUP, NOGROUP], groups: [NOGROUP] }, `task ${task}`);
        }
        const response = await request(`https://127.0.0.1:${port}/`);
        assert.equal(response.status, 200);
        assert.equal(response.body, 'served');
        assert.doesNotMatch(stickler.stderr(), /running as root/);

        // A manager edit after the drop: the state file it writes and the audit log it appends to are nobody's.
        const edited = await postManagerEdit(managerPort, JSON.stringify({ kind: 'member', balancer: 'cluster', member: memberUrl, change: { route: 'r1' } }));
        assert.equal(edited.status, 200, edited.body);
        for (const made of ['state.json', 'audit.log']) {
          const st = statSync(join(files.logs, made));
          assert.deepEqual([st.uid, st.gid], [NOBODY, NOGROUP], made);
        }
        assert.match(readFileSync(join(files.logs, 'audit.log'), 'utf8'), /"r1"/);

        // The access log Stickler created is nobody's, and so is one a reload opens.
        assert.equal(statSync(accessLog).uid, NOBODY);
        const second = join(files.logs, 'second.log');
        writeFileSync(file, yaml([port], files, second, manager));
        const reloaded = await runCli(['reload', '--pid-file', pidFile]);
        assert.equal(reloaded.code, 0, reloaded.output);
        assert.deepEqual([statSync(second).uid, statSync(second).gid], [NOBODY, NOGROUP]);

        // A new low port takes root: refused with the reason, and the running configuration serves on.
        const other = await lowPort([port]);
        writeFileSync(file, yaml([port, other], files, second, manager));
        const refused = await runCli(['reload', '--pid-file', pidFile]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.output, new RegExp(`127\\.0\\.0\\.1:${other} is a new port below 1024, and Stickler gave up root for nobody at start`));
        const after = await request(`https://127.0.0.1:${port}/`);
        assert.equal(after.status, 200);

        // A reload reads as nobody: a key only root may read now is refused, saying who read it.
        writeFileSync(file, yaml([port], files, second, manager));
        chmodSync(files.keyFile, 0o600);
        const unreadable = await runCli(['reload', '--pid-file', pidFile]);
        assert.notEqual(unreadable.code, 0);
        assert.match(unreadable.output, /key\.pem: permission denied \(EACCES\)/);
        assert.match(unreadable.output, /the reload read its files as nobody:nogroup, the account Stickler serves as since start .*not as root/);
        assert.equal((await request(`https://127.0.0.1:${port}/`)).status, 200);

        // Rotated, with a new file made as root (logrotate's create 0644 root): SIGUSR1 reopens as nobody, which
        // cannot write it; said, and the lines go on to the renamed file.
        renameSync(second, `${second}.1`);
        writeFileSync(second, '', { mode: 0o644 });
        process.kill(stickler.pid, 'SIGUSR1');
        await pollUntil(async () => stickler.stdout().includes('logs reopened'), { timeoutMs: 15_000, what: '`logs reopened`' });
        assert.match(stickler.stderr(), /cannot open access log .*second\.log: EACCES.*; its lines still go to the file it had open/);
        assert.equal((await request(`https://127.0.0.1:${port}/after-rotation`)).status, 200);
        await pollUntil(async () => readFileSync(`${second}.1`, 'utf8').includes('/after-rotation'), { timeoutMs: 15_000, what: 'the line in the renamed log' });
        assert.equal(readFileSync(second, 'utf8'), '');
      } finally {
        await stickler.stop();
      }
    });
  });
}

describe('root without user and group', { skip }, () => {
  test('warns once and serves', async () => {
    const { file } = await configured('logs', (text) => text.replace('user: nobody\ngroup: nogroup\n', ''));
    const stickler = await startStickler(file);
    try {
      assert.equal(stickler.stderr().match(/warning: running as root/g)?.length, 1, stickler.stderr());
      assert.equal(credentials(readFileSync(`/proc/${stickler.pid}/status`, 'utf8')).uid[0], 0);
    } finally {
      await stickler.stop();
    }
  });
});

describe('--check with user and group', { skip }, () => {
  test('names an unknown user (an error) and a log nobody may write (a warning) at their lines', async () => {
    const { files, port, file } = await configured('dir');
    const unwritable = await runCli(['--check', '--config', file]);
    // Opened as root at the start, as httpd's logs are: a warning, since only a reload or a reopen would fail.
    assert.equal(unwritable.code, 0, unwritable.output);
    assert.match(unwritable.output, new RegExp(`warning: ${file}:\\d+: log\\.access: cannot create .*access\\.log: the directory .* is not writable by nobody:nogroup.*a reload or a reopen for rotation will fail`));
    writeFileSync(file, yaml([port], files, join(files.logs, 'access.log')).replace('user: nobody', 'user: no-such-user-here'));
    const unknown = await runCli(['--check', '--config', file]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.output, new RegExp(`${file}:1: user: no user no-such-user-here on this system`));
  });
});

describe('pid file in a directory only root writes', { skip }, () => {
  test('the stop after the drop says the pid file and control socket are left, and still ends cleanly', async () => {
    const { files, file } = await configured();
    const pidFile = join(files.dir, 'stickler.pid');
    const stickler = await startStickler(file, { args: ['--pid-file', pidFile] });
    await stickler.stop();
    assert.deepEqual(await stickler.exited, { code: 0, signal: null }, stickler.output());
    assert.match(stickler.stdout(), /^stopped$/m);
    assert.match(stickler.stderr(), /cannot remove .*stickler\.pid\.sock: EACCES/);
    assert.match(stickler.stderr(), /cannot remove .*stickler\.pid: EACCES/);
  });
});

describe('a link planted where a log is to be made', { skip }, () => {
  test('root does not make the file it points to for the account', async () => {
    const { files, file } = await configured();
    // What an account that owns the log directory could leave there for the next start as root.
    const target = join(files.dir, 'planted-target');
    symlinkSync(target, join(files.logs, 'access.log'));
    const stickler = await startStickler(file);
    await stickler.stop();
    assert.notEqual(existsSync(target) && statSync(target).uid, NOBODY, 'the target of the link was given to nobody');
  });
});
