// After a protocol switch (101 Switching Protocols) the two connections carry opaque bytes both ways until
// either side goes away; then the other is closed too, half-closes passed on as they come.
import type net from 'node:net';
import type { HandedOver } from '../upstream/dispatch-handler.ts';
import type { Runtime } from './runtime.ts';

export interface TunnelEnds {
  client: net.Socket;
  /** Bytes the client sent after its request head, already read. */
  clientRest: Buffer;
  member: net.Socket;
  /** Bytes the member sent after its 101 head, already read. */
  memberRest: Buffer;
  /** Close both sides after this long without a byte either way (Apache applies Timeout to tunnels too). */
  idleTimeout: number;
}

/** Resolves with the bytes carried each way once both connections are closed. */
export function tunnel({ client, clientRest, member, memberRest, idleTimeout }: TunnelEnds): Promise<{ toMember: number; toClient: number }> {
  let toMember = clientRest.length;
  let toClient = memberRest.length;
  for (const s of [client, member]) {
    s.removeAllListeners('data');
    s.removeAllListeners('end');
    s.removeAllListeners('timeout');
    s.removeAllListeners('drain');
    s.on('error', () => {});
  }
  if (memberRest.length > 0) client.write(memberRest);
  if (clientRest.length > 0) member.write(clientRest);
  client.on('data', (d: Buffer) => (toMember += d.length));
  member.on('data', (d: Buffer) => (toClient += d.length));
  client.pipe(member);
  member.pipe(client);
  return new Promise((resolve) => {
    let open = 2;
    const closed = () => {
      client.destroy();
      member.destroy();
      if (--open === 0) resolve({ toMember, toClient });
    };
    client.once('close', closed);
    member.once('close', closed);
    // Each socket's timer restarts on its own traffic; a tunnel is idle only when both are.
    let lastActivity = Date.now();
    const active = () => (lastActivity = Date.now());
    client.on('data', active);
    member.on('data', active);
    for (const s of [client, member]) {
      s.setTimeout(idleTimeout, () => {
        if (Date.now() - lastActivity < idleTimeout) return;
        client.destroy();
        member.destroy();
      });
    }
    client.resume();
    member.resume();
  });
}

/**
 * Carries a switched connection, the client's socket (taken from its connection) and the member's (handed over by
 * the dispatch), until either side closes; then gives the member back and calls `ended` with the bytes sent to the
 * client. The runtime waits for the tunnel, not just for its client socket, so `ended` (which writes the log line)
 * runs before a retired runtime closes its log; a reload or stop leaves it open until the graceful shutdown timeout.
 */
export function carryTunnel(runtime: Runtime, client: { socket: net.Socket; rest: Buffer }, member: HandedOver, ended: (toClient: number) => void): void {
  const { socket } = client;
  const connection = { retire: () => {}, destroy: () => void (socket.destroy(), member.socket.destroy()) };
  runtime.connectionOpened(connection);
  void tunnel({ client: socket, clientRest: client.rest, member: member.socket, memberRest: member.rest, idleTimeout: member.idleTimeout }).then(({ toMember, toClient }) => {
    member.done(toMember, toClient);
    ended(toClient);
    runtime.connectionClosed(connection);
  });
}
