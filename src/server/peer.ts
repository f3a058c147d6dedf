// What both client sides (HTTP/1.x connections, HTTP/2 streams) know about the connection a request came on.
import type net from 'node:net';
import type tls from 'node:tls';
import type { LogConnection, LogTls } from '../log/entry.ts';
import type { ClientCertificateFacts } from '../tls/client-verify.ts';

/** The verdict on each admitted connection's client certificate, where its port asks for one (server.ts). */
export const clientCertificateFacts = new WeakMap<net.Socket, ClientCertificateFacts>();

export interface Peer {
  clientIp: string;
  localPort: number;
  sniName: string | undefined;
  /** What access logs show of the connection. */
  log: LogConnection;
}

/** Node's `::ffff:127.0.0.1` for IPv4 on a dual-stack socket is `127.0.0.1` to logs and access rules. */
const plainIp = (address: string): string => (address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address);

export function peerOf(socket: net.Socket): Peer {
  const address = socket.remoteAddress ?? '';
  const servername = (socket as { servername?: string | false }).servername;
  const sniName = typeof servername === 'string' ? servername : undefined;
  const secure = socket as Partial<tls.TLSSocket>;
  const log: LogConnection = { localIp: plainIp(socket.localAddress ?? ''), remotePort: socket.remotePort ?? 0 };
  if (typeof secure.getProtocol === 'function') {
    const client = clientCertificateFacts.get(socket);
    // Read once: every SSL_* item of every request on the connection asks, and Stickler never renegotiates.
    let facts: LogTls | undefined;
    log.tls = () => (facts ??= { protocol: secure.getProtocol?.() ?? undefined, cipher: secure.getCipher?.()?.name, sni: sniName, ...(client && { client }) });
  }
  return { clientIp: plainIp(address), localPort: socket.localPort ?? 0, sniName, log };
}
