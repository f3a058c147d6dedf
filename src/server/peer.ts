// What both client sides (HTTP/1.x connections, HTTP/2 streams) know about the connection a request came on.
import type net from 'node:net';

export interface Peer {
  clientIp: string;
  localPort: number;
  sniName: string | undefined;
}

export function peerOf(socket: net.Socket): Peer {
  const address = socket.remoteAddress ?? '';
  const servername = (socket as { servername?: string | false }).servername;
  return {
    // `::ffff:127.0.0.1` is how Node reports IPv4 clients on dual-stack sockets; logs and access rules want `127.0.0.1`.
    clientIp: address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address,
    localPort: socket.localPort ?? 0,
    sniName: typeof servername === 'string' ? servername : undefined,
  };
}
