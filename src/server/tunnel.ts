// After a protocol switch (101 Switching Protocols) the two connections carry opaque bytes both ways until
// either side goes away; then the other is closed too, half-closes passed on as they come.
import type net from 'node:net';

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
