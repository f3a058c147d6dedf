// The running process's control socket: a Unix socket beside the pid file, as HAProxy's stats socket, through which
// `stickler reload`, `stop` and `status` get their answers. Only the owner may connect: the socket is created mode
// 0600, so the file system refuses anyone else (root aside) before a byte is read. Whoever connects is still treated
// as an input: one request line of bounded size, read within a deadline, answered once; a slow, huge or malformed
// request costs one closed connection and nothing else.
import net from 'node:net';
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { CONTROL_REQUEST_LIMIT, encode, parseRequest, requestLine, type ControlAnswer, type ControlCommand } from './control-protocol.ts';

/** A client has this long to send its request line. */
export const CONTROL_READ_MS = 5_000;
/** Control connections open at once; more are closed at once, so a flood costs no memory. */
const MAX_CONNECTIONS = 8;

export const controlSocketFor = (pidFile: string): string => `${pidFile}.sock`;

export interface ControlSocket {
  /** Stops listening; the socket file is the caller's to remove (after the drop to User it may not be able to). */
  close(): void;
}

/**
 * Listens on `path`. A socket file left there by a process that crashed is replaced; one a live process still
 * answers on is not: that is another Stickler using the same pid file, and opening fails with a message that says so.
 */
export async function openControlSocket(path: string, answer: (command: ControlCommand) => Promise<ControlAnswer>): Promise<ControlSocket> {
  await removeStale(path);
  const server = net.createServer((socket) => serve(socket, answer));
  server.maxConnections = MAX_CONNECTIONS;
  // The umask covers the moment between bind(2) and chmod(2), when the socket would otherwise be open to the group.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.on('error', () => {});
  server.unref();
  return {
    close: () => void server.close(),
  };
}

async function removeStale(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket; remove it, or choose another --pid-file`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another Stickler answers on ${path}; stop it first, or choose another --pid-file`);
  rmSync(path, { force: true });
}

function serve(socket: net.Socket, answer: (command: ControlCommand) => Promise<ControlAnswer>): void {
  socket.on('error', () => {});
  socket.setTimeout(CONTROL_READ_MS, () => socket.destroy());
  let received = Buffer.alloc(0);
  const refuse = (reason: string) => void socket.end(encode({ command: 'error', ok: false, reasons: [reason] }));
  const onData = (chunk: Buffer): void => {
    received = Buffer.concat([received, chunk]).subarray(0, CONTROL_REQUEST_LIMIT + 1);
    const { line, error } = requestLine(received);
    if (error) return void (socket.off('data', onData), refuse(error));
    if (line === undefined) return;
    socket.off('data', onData);
    // The answer may take as long as a reload does; the read deadline is over.
    socket.setTimeout(0);
    const request = parseRequest(line);
    if ('error' in request) return refuse(request.error);
    answer(request.command).then(
      (reply) => void (socket.destroyed || socket.end(encode(reply))),
      (err: unknown) => refuse(String((err as Error)?.message ?? err)),
    );
  };
  socket.on('data', onData);
}
