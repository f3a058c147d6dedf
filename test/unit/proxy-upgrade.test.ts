import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HeaderList, RequestHead } from '../../src/http/head.ts';
import { allowedUpgrade } from '../../src/proxy/upgrade.ts';

function head(headers: HeaderList, extra: Partial<RequestHead> = {}): RequestHead {
  return { method: 'GET', target: '/ws', minor: 1, headers, framing: { kind: 'none' }, keepAlive: true, expectContinue: false, ...extra };
}

const ws: HeaderList = [['Host', 'a'], ['Connection', 'keep-alive, Upgrade'], ['Upgrade', 'websocket']];

test('an HTTP/1.1 GET without a body asking for an allowed protocol gets its Upgrade value forwarded', () => {
  assert.equal(allowedUpgrade(head(ws), ['websocket']), 'websocket');
  assert.equal(allowedUpgrade(head(ws), ['*']), 'websocket');
  assert.equal(allowedUpgrade(head([['Connection', 'upgrade'], ['Upgrade', ' WebSocket/13 , h2c ']]), ['websocket']), 'WebSocket/13 , h2c');
  assert.equal(allowedUpgrade(head([['Connection', 'close'], ['connection', 'UPGRADE'], ['upgrade', 'websocket']]), ['websocket']), 'websocket');
});

test('no upgrade without a route that allows it, on HTTP/1.0, on another method, with a body, or when not asked', () => {
  assert.equal(allowedUpgrade(head(ws), undefined), undefined);
  assert.equal(allowedUpgrade(head(ws), []), undefined);
  assert.equal(allowedUpgrade(head(ws), ['h2c']), undefined);
  assert.equal(allowedUpgrade(head(ws, { minor: 0 }), ['websocket']), undefined);
  assert.equal(allowedUpgrade(head(ws, { method: 'POST' }), ['websocket']), undefined);
  assert.equal(allowedUpgrade(head(ws, { framing: { kind: 'length', length: 1 } }), ['websocket']), undefined);
  assert.equal(allowedUpgrade(head([['Upgrade', 'websocket']]), ['websocket']), undefined);
  assert.equal(allowedUpgrade(head([['Connection', 'upgrades'], ['Upgrade', 'websocket']]), ['websocket']), undefined);
  assert.equal(allowedUpgrade(head([['Connection', 'upgrade'], ['Upgrade', '  ']]), ['*']), undefined);
  assert.equal(allowedUpgrade(head([['Connection', 'upgrade']]), ['*']), undefined);
  assert.equal(allowedUpgrade(head([['Connection', 'upgrade'], ['Upgrade', 'h2c, websocket']]), ['websocket']), undefined);
});
