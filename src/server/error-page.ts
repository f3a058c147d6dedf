// Stickler's own answers (errors and the few local pages). They never echo request input: the text is
// fixed per status, so nothing a client sends can end up in the page unescaped.
import { STATUS_CODES } from 'node:http';
import type { HeaderList } from '../http/head.ts';

const explanations: Record<number, string> = {
  400: 'The request could not be understood.',
  403: 'You do not have permission to access this resource.',
  404: 'The requested URL was not found on this server.',
  413: 'The request body is too large.',
  414: 'The request URL is too long.',
  417: 'The expectation given in the Expect request header could not be met.',
  421: 'The request was sent to a host name this connection does not serve.',
  431: 'The request header fields are too large.',
  500: 'The server encountered an internal error.',
  501: 'The server does not support the requested feature.',
  502: 'The proxy received an invalid response from the backend server.',
  503: 'The service is temporarily unable to serve the request: no backend member is available.',
  504: 'The proxy did not receive a timely response from the backend server.',
  505: 'The HTTP version of the request is not supported.',
};

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

export interface LocalResponse {
  status: number;
  headers: HeaderList;
  body: Buffer;
}

export function errorResponse(status: number): LocalResponse {
  const title = `${status} ${reasonPhrase(status)}`;
  const text = explanations[status] ?? '';
  const body = Buffer.from(
    `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p><hr><address>Stickler</address></body></html>\n`,
  );
  return htmlResponse(status, body);
}

/**
 * 503 with the seconds until the client may try again, so clients and crawlers back off instead of hammering: until
 * a member may be tried again, or 1 for a limit of this process's own (requests in flight, descriptors).
 */
export function unavailableFor(seconds: number): LocalResponse {
  const response = errorResponse(503);
  response.headers.push(['Retry-After', String(seconds)]);
  return response;
}

/** `OPTIONS *` asks about the server itself; there is no member to ask. */
export function optionsResponse(): LocalResponse {
  return { status: 200, headers: [['Allow', 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH']], body: Buffer.alloc(0) };
}

/** 302 to a path of this server; `location` is a path Stickler built, never request input. */
export function redirectResponse(location: string): LocalResponse {
  const response = htmlResponse(302, Buffer.from(`<!DOCTYPE html>\n<html><body><a href="${escapeHtml(location)}">${escapeHtml(location)}</a></body></html>\n`));
  response.headers.push(['Location', location]);
  return response;
}

/** An ACME HTTP-01 answer (RFC 8555 8.3): the key authorization as text/plain, or 404 for a token not pending. */
export function challengeResponse(answer: { status: 200; body: string } | { status: 404 }): LocalResponse {
  if (answer.status === 404) return errorResponse(404);
  return { status: 200, headers: [['Content-Type', 'text/plain'], ['Cache-Control', 'no-store']], body: Buffer.from(answer.body) };
}

export function htmlResponse(status: number, body: Buffer): LocalResponse {
  return {
    status,
    headers: [
      ['Content-Type', 'text/html; charset=utf-8'],
      ['Cache-Control', 'no-store'],
      ['X-Content-Type-Options', 'nosniff'],
    ],
    body,
  };
}

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);
}
