// What an exchange needs of the side that answers the client, whatever its protocol: HTTP/1.x (client.ts) or an
// HTTP/2 stream (h2.ts).
import type net from 'node:net';
import type { HeaderList, ResponseBody } from '../http/head.ts';
import type { EntrySource } from '../log/entry.ts';
import type { ClientFlow } from '../upstream/dispatch-handler.ts';
import type { Runtime } from './runtime.ts';

/**
 * What an exchange needs from the client side it answers, whatever the protocol: an HTTP/1.x connection
 * (client.ts) or an HTTP/2 stream (h2.ts). Framing, connection headers and flow control
 * (ClientFlow, which the dispatch uses directly) are theirs.
 */
export interface ClientSide extends ClientFlow, EntrySource {
  readonly runtime: Runtime;
  readonly sniName: string | undefined;
  /** Bytes of this request's head as received; 0 where the protocol does not tell (HTTP/2). */
  readonly headBytes: number;
  /** Bytes written to the client so far, heads included where the protocol tells (HTTP/1.x). */
  bytesWritten(): number;
  /** A 1xx head (100 Continue included), where the client's protocol carries one. */
  sendInterim(status: number, reason: string, headers: HeaderList): void;
  /** The final head; `keepAlive` false ends the connection after this response. */
  sendHead(status: number, reason: string, headers: HeaderList, body: ResponseBody, keepAlive: boolean): void;
  /** Body bytes; false when the client is not keeping up: wait for `onceDrained`. */
  sendBody(data: Buffer): boolean;
  endBody(trailers: HeaderList): void;
  /** Cuts the response off so the client sees it incomplete. */
  abort(): void;
  /** HTTP/1.1 only: the connection leaves HTTP for a tunnel; the socket and the bytes read ahead. */
  takeOver(): { socket: net.Socket; rest: Buffer } | undefined;
  /** The response is complete; `keepAlive` false closes the connection. */
  exchangeDone(keepAlive: boolean): void;
}
