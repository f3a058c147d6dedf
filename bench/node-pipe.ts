// NOT THE PRODUCT: the "node pipe (ceiling)" row of `npm run bench`, the least a Node HTTPS proxy can do per
// keep-alive request, so that what Stickler's own path costs above Node's TLS and sockets shows. It terminates
// TLS, walks each message's head to its blank line and its Content-Length, and writes the bytes as they came to
// one upstream TLS socket held per client connection, to the member the sticky cookie of (a) names (always the
// first); the answers come back the same way. No routing, rewriting, logging, timeouts or error answers; HTTP/1.1
// only. Chunked bodies pass through as bytes, but the walk does not follow their framing.
// Usage: node bench/node-pipe.ts <port> <cert file> <key file> <member port>

import { readFileSync } from 'node:fs';
import { connect, createServer, type TLSSocket } from 'node:tls';

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** The framing work every HTTP proxy does on a byte stream: where each head ends, how much body follows it. */
function messageWalker(): (chunk: Buffer) => void {
  let body = 0;
  let partial: Buffer | undefined;
  return (chunk) => {
    const buf = partial ? Buffer.concat([partial, chunk]) : chunk;
    partial = undefined;
    let at = 0;
    while (at < buf.length) {
      if (body > 0) {
        const take = Math.min(body, buf.length - at);
        body -= take;
        at += take;
        continue;
      }
      const end = buf.indexOf(HEAD_END, at);
      if (end < 0) {
        partial = buf.subarray(at);
        return;
      }
      body = Number(CONTENT_LENGTH.exec(buf.toString('latin1', at, end))?.[1] ?? 0);
      at = end + HEAD_END.length;
    }
  };
}

/** Copies `from` to `to` a chunk per write, pausing while `to` is full; one side's end or error ends both. */
function forward(from: TLSSocket, to: TLSSocket): void {
  const walk = messageWalker();
  from.on('data', (chunk: Buffer) => {
    walk(chunk);
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
  from.on('error', () => to.destroy());
  from.on('close', () => to.destroy());
}

const [port, certFile, keyFile, memberPort] = process.argv.slice(2);
if (memberPort === undefined) {
  console.error('usage: node bench/node-pipe.ts <port> <cert file> <key file> <member port>');
  process.exit(2);
}
const server = createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!), noDelay: true }, (client) => {
  const member = connect({ host: '127.0.0.1', port: Number(memberPort), rejectUnauthorized: false });
  member.setNoDelay(true);
  forward(client, member);
  forward(member, client);
});
server.listen(Number(port), '127.0.0.1');
// An orderly exit on SIGTERM, so that `--cpu-prof` can write its profile when the pipe is profiled.
process.on('SIGTERM', () => process.exit(0));
