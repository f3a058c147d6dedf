// Files Stickler writes whole: replaced through a fresh, unguessable temporary, never through a symlink, readable
// by the owner only, and whole after a kill -9 at any moment.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNew, removeLeftoverTemporaries, writeFileAtomically } from '../../src/fs/atomic-file.ts';
import { ManagerStore } from '../../src/manager/store.ts';
import type { Overlay } from '../../src/manager/overlay.ts';
import { withTimeout } from '../support/wait.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stickler-atomic-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh directory holding `victim`, a file an attacker would like overwritten. */
function scene(name: string): { at: string; victim: string } {
  const at = join(dir, name);
  mkdirSync(at);
  const victim = join(at, 'victim');
  writeFileSync(victim, 'precious\n');
  return { at, victim };
}

test('the file is replaced whole, readable and writable by its owner only, with no temporary left beside it', () => {
  const { at } = scene('plain');
  const file = join(at, 'state.json');
  writeFileSync(file, 'old and longer than the new content\n', { mode: 0o644 });
  writeFileAtomically(file, 'new\n');
  assert.equal(readFileSync(file, 'utf8'), 'new\n');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  writeFileAtomically(file, Buffer.from('bytes\n'));
  assert.equal(readFileSync(file, 'utf8'), 'bytes\n');
  assert.deepEqual(readdirSync(at).sort(), ['state.json', 'victim']);
});

test('a symlink at the target is replaced, not written through', () => {
  const { at, victim } = scene('target-link');
  const file = join(at, 'stickler.pid');
  symlinkSync(victim, file);
  writeFileAtomically(file, '1234\n');
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.ok(lstatSync(file).isFile(), 'the symlink gave way to a regular file');
  assert.equal(readFileSync(file, 'utf8'), '1234\n');
});

test('a temporary is created only where nothing is, so a symlink planted at its name is never followed', () => {
  const { at, victim } = scene('temporary-link');
  const planted = join(at, '.state.json.0123456789abcdef.tmp');
  symlinkSync(victim, planted);
  assert.throws(() => createNew(planted), { code: 'EEXIST' });
  const dangling = join(at, '.state.json.fedcba9876543210.tmp');
  symlinkSync(join(at, 'created-through-the-link'), dangling);
  assert.throws(() => createNew(dangling), { code: 'EEXIST' });
  assert.equal(existsSync(join(at, 'created-through-the-link')), false);
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
});

test('the names the old writers used, planted as symlinks, lead nowhere', () => {
  const { at, victim } = scene('old-names');
  const file = join(at, 'state.json');
  // The state file's and the pid file's temporaries were named after the process id.
  for (const name of [`.state.json.${process.pid}.tmp`, `state.json.${process.pid}.tmp`]) symlinkSync(victim, join(at, name));
  writeFileAtomically(file, '{}\n');
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(readFileSync(file, 'utf8'), '{}\n');
});

test('a failed write leaves the target as it was and no temporary behind', () => {
  const { at } = scene('failure');
  const target = join(at, 'a-directory');
  mkdirSync(target);
  writeFileSync(join(target, 'inside'), 'x');
  assert.throws(() => writeFileAtomically(target, 'over a directory'), (err: NodeJS.ErrnoException) => err.code === 'EISDIR' || err.code === 'ENOTEMPTY');
  assert.throws(() => writeFileAtomically(join(at, 'missing', 'file'), 'x'), { code: 'ENOENT' });
  assert.deepEqual(readdirSync(at).sort(), ['a-directory', 'victim']);
});

test('leftover temporaries of a file are removed, and nothing else', () => {
  const { at } = scene('leftovers');
  const names = ['state.json', '.state.json.0123456789abcdef.tmp', '.state.json.4242.tmp', '.state.json.bak', '.other.json.0123.tmp', 'state.json.tmp'];
  for (const name of names) writeFileSync(join(at, name), 'x');
  removeLeftoverTemporaries(join(at, 'state.json'));
  assert.deepEqual(readdirSync(at).sort(), ['.other.json.0123.tmp', '.state.json.bak', 'state.json', 'state.json.tmp', 'victim']);
});

const STORE = new URL('../../src/manager/store.ts', import.meta.url).href;

/** A state big enough that a save takes a while, with its sequence number first among the removed members. */
function bigState(seq: number): Overlay {
  const removed = [`https://seq-${seq}:1`, ...Array.from({ length: 6000 }, (_, i) => `https://10.${i >> 8}.${i & 255}.${seq % 250}:8443`)];
  return { version: 1, balancers: { cluster: { settings: {}, members: {}, added: [], removed } } };
}

/** Saves states 0, 1, 2... through the manager's store until killed; prints `saving` after the first. */
const SAVER = `
  const { ManagerStore } = await import(process.env.STORE);
  const bigState = ${bigState.toString()};
  const store = new ManagerStore({ stateFile: process.env.STATE_FILE, log: (line) => process.stderr.write(line + '\\n') });
  for (let seq = 0; ; seq++) {
    store.replace(bigState(seq));
    if (seq === 0) process.stdout.write('saving\\n');
  }
`;

async function saveUntilKilled(stateFile: string, killAfterMs: number): Promise<string> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SAVER], {
    env: { ...process.env, STORE, STATE_FILE: stateFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await withTimeout(new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the saver exited (${code}) before saving: ${stderr}`)));
    }), 20_000, 'the saver\'s first save');
    await sleep(killAfterMs);
  } finally {
    child.kill('SIGKILL');
    await withTimeout(exited, 10_000, 'the killed saver');
  }
  return stderr;
}

test('kill -9 at random moments during saves leaves a whole state file, read back at the next start', async (t) => {
  const { at } = scene('kill');
  const stateFile = join(at, 'state.json');
  let leftovers = 0;
  for (let kill = 0; kill < 8; kill++) {
    const stderr = await saveUntilKilled(stateFile, Math.random() * 150);
    assert.equal(stderr, '', 'the saver reported a problem');
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as Overlay;
    const removed = saved.balancers.cluster?.removed ?? [];
    const seq = Number(/^https:\/\/seq-(\d+):1$/.exec(removed[0] ?? '')?.[1]);
    assert.deepEqual(saved, bigState(seq), `after kill ${kill + 1} the file holds state ${seq} whole`);
    leftovers += readdirSync(at).filter((name) => name.endsWith('.tmp')).length;

    const log: string[] = [];
    const restarted = new ManagerStore({ stateFile, log: (line) => log.push(line) });
    assert.deepEqual(log, []);
    assert.deepEqual(restarted.overlay, saved);
    assert.deepEqual(readdirSync(at).filter((name) => name.endsWith('.tmp')), [], 'a start clears what a killed save left');
  }
  t.diagnostic(`${leftovers} of 8 kills landed during a save, leaving its temporary`);
});
