// What a dispatch (dispatch.ts) works with: the balancer it picks from, and the exchange it reports to, as undici's
// dispatch handlers are told of a response (onHeaders, onData, onComplete, onError) without knowing the client.
import type net from 'node:net';
import type { Balancer } from '../balancer/balancer.ts';
import type { BalancerConfig } from '../config/model.ts';
import type { HeaderList, ResponseHead } from '../http/head.ts';
import type { MemberPool } from './pool.ts';

/** A balancer as dispatch uses it: its configuration, its state, one connection pool per member. */
export interface DispatchBalancer {
  readonly config: BalancerConfig;
  readonly balancer: Balancer;
  readonly pools: readonly MemberPool[];
}

/** The client's flow control, which the dispatch works directly: reading the body, waiting for the client to drain. */
export interface ClientFlow {
  pauseReading(): void;
  resumeReading(): void;
  /** What `fn` writes to the client goes out together (one TLS record), not piece by piece. */
  batch(fn: () => void): void;
  onceDrained(listener: () => void): void;
  cancelDrained(listener: () => void): void;
}

/** What a dispatch reports to, and asks of, the exchange it works for. */
export interface DispatchHandler {
  /** The exchange is over (answered, or its client gone): no more attempts. */
  readonly finished: boolean;
  /** The client has the response head: a failure now cuts the response off. */
  readonly responseStarted: boolean;
  /** The request head as the member at `memberUrl` gets it. */
  memberHead(memberUrl: string): Buffer;
  /** The head went out to a member: time for the 100 Continue a client may wait for. */
  onRequestSent(): void;
  /** A response head, interim ones included; true when the exchange took the connection over (a protocol switch). */
  onHead(head: ResponseHead): boolean;
  /** Response body bytes; false when the client is not keeping up, until its `onceDrained` listener runs. */
  onData(data: Buffer): boolean;
  /** The response is complete and the member given back. */
  onComplete(trailers: HeaderList): void;
  /** No answer will come: `status` (503 with Retry-After `retryAfter`), or the response cut off if it had begun. */
  onFailure(status: number, retryAfter?: number, reason?: string): void;
  onInternalError(err: unknown): void;
}

/** The member's connection, out of the pool for a protocol switch; `done` gives the member back with the tunnel's bytes. */
export interface HandedOver {
  socket: net.Socket;
  /** Bytes the member sent after its 101. */
  rest: Buffer;
  idleTimeout: number;
  done(toMember: number, toClient: number): void;
}
