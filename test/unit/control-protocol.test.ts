// The control socket's pure half: the request line (bounded), the request, the status text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CONTROL_REQUEST_LIMIT, formatStatus, parseRequest, requestLine, type StatusReport } from '../../src/cli/control-protocol.ts';

test('a request line is read once its newline came, bounded in size before and after it', () => {
  assert.deepEqual(requestLine(Buffer.from('{"command":"st')), {});
  assert.deepEqual(requestLine(Buffer.from('{"command":"status"}\r\n')), { line: '{"command":"status"}' });
  assert.deepEqual(requestLine(Buffer.from('a\nb\n')), { line: 'a' });
  assert.deepEqual(requestLine(Buffer.alloc(CONTROL_REQUEST_LIMIT, 'x')), {});
  assert.match(requestLine(Buffer.alloc(CONTROL_REQUEST_LIMIT + 1, 'x')).error!, /at most 1024 bytes/);
  assert.match(requestLine(Buffer.from(`${'x'.repeat(CONTROL_REQUEST_LIMIT + 1)}\n`)).error!, /at most/);
});

test('requestLine never throws and never gives a line longer than the limit', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3 * CONTROL_REQUEST_LIMIT }), (bytes) => {
    const r = requestLine(Buffer.from(bytes));
    if (r.line !== undefined) assert.ok(Buffer.byteLength(r.line) <= CONTROL_REQUEST_LIMIT);
    assert.ok(!(r.line !== undefined && r.error !== undefined));
  }));
});

test('a request names one of the commands; anything else is refused with what was expected', () => {
  assert.deepEqual(parseRequest('{"command":"reload"}'), { command: 'reload' });
  assert.deepEqual(parseRequest('{"command":"stop","extra":1}'), { command: 'stop' });
  for (const bad of ['', 'status', '[]', 'null', '"status"', '{"command":"toString"}', '{"command":["status"]}', '{"__proto__":{"command":"stop"}}']) {
    assert.ok('error' in parseRequest(bad), bad);
  }
  fc.assert(fc.property(fc.string(), (text) => {
    const r = parseRequest(text);
    assert.ok('error' in r || ['reload', 'status', 'stop'].includes(r.command));
  }));
});

test('status reads as an operator wants it', () => {
  const s: StatusReport = {
    version: '1.2.3',
    pid: 42,
    configFile: '/etc/stickler/site.conf',
    startedAt: Date.UTC(2026, 0, 1, 12, 0, 0),
    workers: 2,
    lastReload: { at: Date.UTC(2026, 0, 1, 12, 5, 0), ok: false, reasons: ['/etc/stickler/site.conf:3: Listen: cannot listen on 127.0.0.1:80: EADDRINUSE'] },
    listeners: [{ scheme: 'https', address: '127.0.0.1', port: 443 }, { scheme: 'http', address: '::1', port: 9090 }],
    balancers: [{ name: 'cluster', lbmethod: 'byrequests', members: [{ url: 'https://10.0.0.1:8443', route: 'n1', state: 'Init Ok', usable: true, busy: 1, requests: 7 }, { url: 'https://10.0.0.2:8443', route: '', state: 'Init Err', usable: false, busy: 0, requests: 0 }] }],
  };
  assert.equal(formatStatus(s, Date.UTC(2026, 0, 1, 13, 0, 0)), `stickler 1.2.3, pid 42, 2 worker threads
configuration: /etc/stickler/site.conf
started: 2026-01-01T12:00:00.000Z (60 min ago)
last reload: 2026-01-01T12:05:00.000Z refused
  /etc/stickler/site.conf:3: Listen: cannot listen on 127.0.0.1:80: EADDRINUSE
listening on https://127.0.0.1:443
listening on http://[::1]:9090
balancer://cluster lbmethod=byrequests
  https://10.0.0.1:8443 route=n1 Init Ok busy=1 requests=7
  https://10.0.0.2:8443 route=- Init Err (not usable) busy=0 requests=0
`);
});
