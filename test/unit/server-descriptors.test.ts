import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import fc from 'fast-check';
import { CLIENT_DEFAULTS } from '../../src/config/model.ts';
import { descriptorLimit, descriptorsNeeded, descriptorWarning, capsWithin, openFilesLimit, pastReserve, reserveFor } from '../../src/server/descriptors.ts';
import { BurstLog, isLocalExhaustion } from '../../src/upstream/exhaustion.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63444                63444                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test('the soft open-files limit is read from /proc/self/limits', () => {
  assert.equal(openFilesLimit(LIMITS), 1024);
  assert.equal(openFilesLimit(LIMITS.replace('1024  ', 'unlimited')), Number.MAX_SAFE_INTEGER);
  assert.equal(openFilesLimit('Max processes 1 1 processes\n'), undefined);
  assert.equal(openFilesLimit(''), undefined);
});

test('the reserve is a sixteenth of the limit, between 16 and 256', () => {
  assert.deepEqual([64, 1024, 4096, 20_000, 1_048_576].map(reserveFor), [16, 64, 256, 256, 256]);
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (limit) => {
    const reserve = reserveFor(limit);
    assert.ok(reserve >= 16 && reserve <= 256 && Number.isInteger(reserve));
  }));
});

test('what the limits need: a client socket and a member socket per request in flight, per thread, plus the reserve and Stickler\'s own', () => {
  const policy = { ...CLIENT_DEFAULTS, maxConnections: 1000, maxRequests: 500, maxStreams: 100 };
  assert.equal(descriptorsNeeded(policy, 1, 4096), 1000 + 500 + 256 + 64);
  assert.equal(descriptorsNeeded(policy, 4, 4096), 4 * 1500 + 256 + 64);
  // HTTP/1.1 only in effect: one stream per connection, and no request cap.
  assert.equal(descriptorsNeeded({ ...policy, maxStreams: 1, maxRequests: 0 }, 1, 4096), 2000 + 256 + 64);
  assert.equal(descriptorsNeeded({ ...policy, maxConnections: 0 }, 1, 4096), undefined);
});

test('the startup warning says the limit, the need and the way out; none when the limit suffices', () => {
  const warning = descriptorWarning({ ...CLIENT_DEFAULTS, maxConnections: 100, maxRequests: 100 }, 1, 64);
  assert.equal(warning, 'the descriptor limit is 64, below the 280 that client.max-connections 100 needs with 1 thread (a client socket and up to one member socket per request, 16 kept for the manager, 64 for Stickler itself): once 48 are in use, new connections are closed at once and requests answered 503; raise LimitNOFILE (systemd) or ulimit -Hn, or lower client.max-connections');
  assert.equal(descriptorWarning({ ...CLIENT_DEFAULTS, maxConnections: 100, maxRequests: 100 }, 1, 300), undefined);
  assert.equal(descriptorWarning({ ...CLIENT_DEFAULTS, maxConnections: 0 }, 8, 64), undefined);
});

test('a socket is past the reserve when its descriptor is at or above limit - reserve; one without a descriptor never is', () => {
  const limit = descriptorLimit();
  assert.ok(limit !== undefined && limit > 0, 'Linux tells the limit');
  const ceiling = limit - reserveFor(limit);
  const socket = (fd: unknown) => ({ _handle: { fd } }) as unknown as net.Socket;
  assert.equal(pastReserve(socket(ceiling - 1)), false);
  assert.equal(pastReserve(socket(ceiling)), true);
  assert.equal(pastReserve(socket(limit - 1)), true);
  assert.equal(pastReserve(socket(undefined)), false);
  assert.equal(pastReserve({} as net.Socket), false);
});

test('out of descriptors, buffers, memory or local ports is local; refusals and resets are the member\'s', () => {
  for (const code of ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'STK_LOCAL_DESCRIPTORS']) assert.equal(isLocalExhaustion(code), true, code);
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'toString', '', undefined]) assert.equal(isLocalExhaustion(code), false, String(code));
});

test('a burst is logged once: the first failure, then nothing until the quiet time passes, which counts the quiet ones', () => {
  const log = new BurstLog(10_000);
  assert.equal(log.note(1_000), 0);
  assert.equal(log.note(1_001), undefined);
  assert.equal(log.note(10_999), undefined);
  // Each failure extends the burst: 10 s after the first is not enough, 10 s after the last is.
  assert.equal(log.note(20_998), undefined);
  assert.equal(log.note(30_998), 3);
  assert.equal(log.note(30_999), undefined);
});

test('capsWithin: defaults that need more descriptors than the limit become caps that fit it, half for clients, half for members', () => {
  fc.assert(
    fc.property(fc.integer({ min: 200, max: 2_000_000 }), fc.integer({ min: 1, max: 8 }), (limit, threads) => {
      const caps = capsWithin(CLIENT_DEFAULTS, threads, limit);
      assert.ok(caps.maxConnections >= 1 && caps.maxConnections <= CLIENT_DEFAULTS.maxConnections);
      assert.ok(caps.maxRequests >= 1 && caps.maxRequests <= CLIENT_DEFAULTS.maxRequests);
      const needed = descriptorsNeeded({ ...CLIENT_DEFAULTS, ...caps }, threads, limit)!;
      if (caps.maxConnections > 1) assert.ok(needed <= limit, `${needed} descriptors needed with ${JSON.stringify(caps)}, limit ${limit}`);
    }),
  );
  assert.deepEqual(capsWithin(CLIENT_DEFAULTS, 1, 1_048_576), { maxConnections: 20_000, maxRequests: 20_000 }, 'a high limit keeps the defaults');
  // This machine's 20000: a thousand client connections would not fit with the defaults' 20000 member sockets.
  assert.deepEqual(capsWithin(CLIENT_DEFAULTS, 1, 20_000), { maxConnections: 9_840, maxRequests: 9_840 });
  assert.deepEqual(capsWithin(CLIENT_DEFAULTS, 2, 20_000), { maxConnections: 4_920, maxRequests: 4_920 });
});
