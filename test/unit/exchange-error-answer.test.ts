// An exchange whose error answer cannot be written either (its head refused by the client side, as a `Header
// always` value the head cannot carry once was) must still end: the connection cut, the exchange finished (which
// gives its in-flight slot back) and its log line written. Before, the second failure escaped and the exchange hung.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpError } from '../../src/http/errors.ts';
import type { RequestHead } from '../../src/http/head.ts';
import type { AccessEntry } from '../../src/log/entry.ts';
import type { ClientSide } from '../../src/server/client-side.ts';
import { Exchange } from '../../src/server/exchange.ts';

test('an error answer whose head fails ends the exchange: the connection cut, the exchange finished and logged', () => {
  const events: string[] = [];
  const logged: AccessEntry[] = [];
  const client = {
    clientIp: '192.0.2.1', localPort: 443, scheme: 'https', answered: 0, headBytes: 0, sniName: undefined,
    logConnection: { localIp: '127.0.0.1', remotePort: 1 },
    runtime: { retired: false, accessLog: { write: (e: AccessEntry) => logged.push(e) }, inFlight: { leave: () => events.push('leave') } },
    bytesWritten: () => 0,
    sendHead: () => {
      throw new HttpError(500, 'STK_HTTP_SERIALIZE_VALUE', "refusing to send header 'X-SNI'");
    },
    sendBody: () => true,
    endBody: () => events.push('endBody'),
    abort: () => events.push('abort'),
    exchangeDone: (keepAlive: boolean) => events.push(`done ${keepAlive}`),
  } as unknown as ClientSide;
  const head: RequestHead = { method: 'GET', target: '/', minor: 1, headers: [['Host', 'a.example']], framing: { kind: 'none' }, keepAlive: true, expectContinue: false };
  const exchange = new Exchange(client, head);
  exchange.onInternalError(new HttpError(500, 'STK_HTTP_SERIALIZE_VALUE', "refusing to send header 'X-SNI'"));
  assert.equal(exchange.finished, true);
  assert.deepEqual(events, ['abort', 'done false']);
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.error, 'STK_HTTP_SERIALIZE_VALUE');
});
