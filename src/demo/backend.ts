// A stand-in for a Tomcat / WSO2 Identity Server node with `jvmRoute` set, so the demo shows sticky sessions
// without Java: it issues `JSESSIONID=<id>.<route>`, recognises the session from the cookie or from a
// `;jsessionid=` path parameter, and sends an absolute redirect to its own address for ProxyPassReverse to fix.

import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SessionStore } from './sessions.ts';
import type { Session } from './sessions.ts';

export interface DemoNodeOptions {
  route: string;
  cert: string;
  key: string;
  /** 0 or absent: any free port. */
  port?: number;
  host?: string;
}

export interface DemoNode {
  port: number;
  close(): Promise<void>;
}

const COOKIE = 'JSESSIONID';
const PATH_PARAM = 'jsessionid';

/** Session ids the request names: cookies first (Tomcat lets them override the URL), then the path parameter. */
export function requestedSessionIds(cookieHeader: string | undefined, target: string): string[] {
  const ids: string[] = [];
  for (const pair of (cookieHeader ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === COOKIE) ids.push(pair.slice(eq + 1).trim());
  }
  const fromPath = pathParameter(target, PATH_PARAM);
  if (fromPath) ids.push(fromPath);
  return ids;
}

function pathParameter(target: string, name: string): string | undefined {
  const path = target.split('?', 1)[0] ?? '';
  const match = new RegExp(`;${name}=([^;/]*)`).exec(path);
  return match?.[1];
}

/** The path Tomcat maps: query and every `;param` removed from each segment. */
export function mappedPath(target: string): string {
  const path = target.split('?', 1)[0] ?? '';
  return path
    .split('/')
    .map((segment) => segment.split(';', 1)[0])
    .join('/');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Host and X-Forwarded-* in arrival order: what shows how the balancer rewrote the request. */
function forwardingHeaders(req: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'host' || lower.startsWith('x-forwarded-') || lower === 'forwarded') out.push([name, raw[i + 1]!]);
  }
  return out;
}

function page(route: string, port: number, session: Session, req: IncomingMessage): string {
  const headers = forwardingHeaders(req)
    .map(([n, v]) => `<tr><th>${escapeHtml(n)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');
  const urlForm = `/;${PATH_PARAM}=${encodeURIComponent(session.id)}`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Stickler demo: ${escapeHtml(route)}</title></head>
<body>
<h1>Answered by ${escapeHtml(route)}</h1>
<p>Backend port ${port}. Session <code>${escapeHtml(session.id)}</code>, request ${session.hits} of this session.</p>
<p>Reload: the balancer keeps you on ${escapeHtml(route)} because the session id ends in <code>.${escapeHtml(route)}</code>.</p>
<h2>Headers the balancer sent</h2>
<table>
${headers || '<tr><td>(none)</td></tr>'}
</table>
<ul>
<li><a href="${escapeHtml(urlForm)}">This page with the session in the URL</a> (<code>;jsessionid=</code>, for clients without cookies)</li>
<li><a href="/api/whoami">/api/whoami</a> (JSON)</li>
<li><a href="/redirect">/redirect</a> (the node redirects to its own address; the balancer rewrites it)</li>
</ul>
</body>
</html>
`;
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(body);
}

export function startDemoNode(opts: DemoNodeOptions): Promise<DemoNode> {
  const { route } = opts;
  const sessions = new SessionStore({ route });
  let port = 0;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '/';
    const { session, created } = sessions.touch(requestedSessionIds(req.headers.cookie, target));
    if (created) res.setHeader('Set-Cookie', `${COOKIE}=${session.id}; Path=/; Secure; HttpOnly`);

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Only GET and HEAD are supported.\n', { Allow: 'GET, HEAD' });
      return;
    }
    switch (mappedPath(target)) {
      case '/':
        send(res, 200, 'text/html; charset=utf-8', page(route, port, session, req));
        return;
      case '/api/whoami':
        send(res, 200, 'application/json', JSON.stringify({ node: route, session: session.id, hits: session.hits }) + '\n');
        return;
      case '/redirect': {
        const location = `https://localhost:${port}/`;
        send(res, 302, 'text/plain; charset=utf-8', `Redirecting to ${location}\n`, { Location: location });
        return;
      }
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'Not found.\n');
    }
  };

  const server = https.createServer({ cert: opts.cert, key: opts.key }, handle);
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`demo node ${route}: cannot listen on ${host}:${opts.port ?? 0}: ${err.message}`)));
    server.listen(opts.port ?? 0, host, () => {
      port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
