// Dropping a client with a TCP reset, as nginx's reset_timedout_connection does: a plain close would leave the
// kernel holding the unsent bytes, trickling them out long after Stickler let go.
import type net from 'node:net';

export function resetConnection(socket: net.Socket): void {
  // A server-side TLS socket keeps the TCP socket it wraps as `_parent` (undocumented): only that one can reset.
  const tcp = (socket as net.Socket & { _parent?: net.Socket })._parent ?? socket;
  try {
    tcp.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
