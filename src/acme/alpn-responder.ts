// The TLS port's front while a TLS-ALPN-01 challenge is pending: the first bytes of each connection are read
// (client-hello.ts); a ClientHello that offers ALPN `acme-tls/1` for a name being validated gets the
// challenge certificate and `acme-tls/1`, and is never proxied. Every other connection is handed to the TLS server
// with its bytes put back (unshift), as if it had just been accepted. With nothing pending a connection is handed
// on at once: normal traffic pays one property read.
import type net from 'node:net';
import tls from 'node:tls';
import type { ChallengeBoard } from './challenges.ts';
import { MAX_HELLO_BYTES, peekClientHello } from './client-hello.ts';

export const ACME_TLS_ALPN = 'acme-tls/1';

export interface AlpnFrontOptions {
  board: ChallengeBoard;
  /** The TLS server's own handling of a fresh connection (`tlsServer.emit('connection', socket)`). */
  pass: (socket: net.Socket) => void;
  /** How long a client may take to send its ClientHello while a challenge is pending (the handshake deadline). */
  helloTimeout: number;
}

export function alpnFront(options: AlpnFrontOptions): (socket: net.Socket) => void {
  const { board, pass, helloTimeout } = options;
  return (socket) => {
    if (!board.alpnPending) return pass(socket);
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(), helloTimeout);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
    };
    const onError = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const data = Buffer.concat(chunks, size);
      const peek = peekClientHello(data);
      if (peek.kind === 'incomplete' && size < MAX_HELLO_BYTES) return;
      done();
      socket.unshift(data);
      const context = peek.kind === 'hello' && peek.alpn.includes(ACME_TLS_ALPN) ? board.alpnContext(peek.serverName) : undefined;
      if (context) answer(socket, context, helloTimeout);
      else pass(socket);
    };
    socket.on('data', onData);
    socket.on('error', onError);
  };
}

/** The validation handshake: the challenge certificate, `acme-tls/1`, then nothing (RFC 8737: the CA closes). */
function answer(socket: net.Socket, secureContext: tls.SecureContext, timeout: number): void {
  const secure = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: [ACME_TLS_ALPN] });
  const timer = setTimeout(() => secure.destroy(), timeout);
  secure.on('secure', () => {
    clearTimeout(timer);
    secure.end();
  });
  secure.on('error', () => secure.destroy());
  secure.on('close', () => clearTimeout(timer));
  secure.resume();
}
