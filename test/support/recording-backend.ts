// A balancer member that records every raw byte it receives, per connection, and answers the first complete request
// of each connection with a fixed 200 and `Connection: close` (any later one is recorded and counted, never
// answered: a proxy that sends two is out of step). It sits behind Stickler, nginx and HAProxy in the smuggling tests:
// what a proxy put upstream is read from the recording, never from the proxy's own account of it. It speaks TLS on
// raw sockets (no node:http), so nothing between the wire and the recording normalises or drops a byte.

import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import type { RequestHead } from '../../src/http/head.ts';
import { MessageReader } from '../../src/http/reader.ts';
import { localCertificate } from './engine.ts';
import { withTimeout } from './wait.ts';

/** The field that marks an answer as the backend's, whatever a proxy did to the rest of it (HEAD drops the body). */
export const RECORDED_MARK = 'X-Recorded';

const RECORDED_ANSWER = `HTTP/1.1 200 OK\r\n${RECORDED_MARK}: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`;

/** Large enough that a proxy's forwarded head is never refused by the recorder's own limits. */
const FRAMING_LIMITS = { maxHeadBytes: 1024 * 1024, maxHeaders: 10_000, maxTargetBytes: 512 * 1024, maxChunkLineBytes: 64 * 1024 };

export interface RecordedConnection {
  /** The listening port it arrived on: one port per lane, so a lane's cases can be told apart from another's. */
  port: number;
  chunks: Buffer[];
  /** Heads of the requests framed completely (head and body) by Stickler's strict reader; the first was answered. */
  requests: RequestHead[];
  /** Why the reader stopped framing this connection's bytes (they were still recorded). */
  framingError?: string;
}

export class RecordingBackend {
  readonly connections: RecordedConnection[] = [];
  private readonly servers: tls.Server[] = [];
  /** Every TCP connection, from its accept on: one still in its TLS handshake counts as open too. */
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<() => void>();

  /** Listens on `count` free ports of 127.0.0.1. */
  static async start(count: number): Promise<RecordingBackend> {
    const backend = new RecordingBackend();
    for (let i = 0; i < count; i++) await backend.listen();
    return backend;
  }

  get ports(): number[] {
    return this.servers.map((s) => (s.address() as AddressInfo).port);
  }

  /** Connections accepted on `port`, from index `from` of `connections` on. */
  on(port: number, from = 0): RecordedConnection[] {
    return this.connections.slice(from).filter((c) => c.port === port);
  }

  /**
   * Resolves once no connection on `port` is open, or after `timeoutMs`, when the ones left are destroyed: a lane
   * starts its next case only when nothing of the previous one can still arrive.
   */
  async settle(port: number, timeoutMs: number): Promise<void> {
    const open = (): boolean => [...this.sockets].some((s) => s.localPort === port);
    if (!open()) return;
    let wake = (): void => {};
    const quiet = new Promise<void>((resolve) => {
      wake = () => {
        if (!open()) resolve();
      };
      this.waiters.add(wake);
    });
    try {
      await withTimeout(quiet, timeoutMs, `backend connections on port ${port} closing`);
    } catch {
      for (const socket of this.sockets) if (socket.localPort === port) socket.destroy();
    } finally {
      this.waiters.delete(wake);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private async listen(): Promise<void> {
    const { certFile, keyFile } = localCertificate();
    const server = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), allowHalfOpen: true }, (socket) => this.accept(socket));
    server.on('tlsClientError', () => {});
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        for (const wake of this.waiters) wake();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
  }

  private accept(socket: tls.TLSSocket): void {
    const record: RecordedConnection = { port: socket.localPort ?? 0, chunks: [], requests: [] };
    this.connections.push(record);
    const reader = new MessageReader('request', FRAMING_LIMITS);
    let head: RequestHead | undefined;
    const frame = (read: () => ReturnType<MessageReader['push']>): void => {
      if (record.framingError !== undefined) return;
      try {
        // The reader stops after each message; resuming at once lets the next one start in a later chunk too.
        for (let events = read(); ; events = reader.resume()) {
          for (const ev of events) {
            if (ev.type === 'head') head = ev.head as RequestHead;
            if (ev.type !== 'end') continue;
            record.requests.push(head!);
            if (record.requests.length === 1) socket.end(RECORDED_ANSWER);
          }
          if (events.at(-1)?.type !== 'end') break;
        }
      } catch (err) {
        record.framingError = (err as { code?: string }).code ?? String(err);
        // Not a request this member could answer: it closes, as a strict server would.
        if (!socket.writableEnded) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      }
    };
    socket.on('data', (chunk: Buffer) => {
      record.chunks.push(chunk);
      frame(() => reader.push(chunk));
    });
    socket.on('end', () => {
      frame(() => reader.finish());
      if (!socket.writableEnded) socket.end();
    });
    socket.on('error', () => {});
  }
}

/** Every byte a connection carried, as one buffer. */
export function recordedBytes(connections: RecordedConnection[]): Buffer {
  return Buffer.concat(connections.flatMap((c) => c.chunks));
}
