// The response head a client gets from a member's: hop-by-hop fields gone and ProxyPassReverse applied (reverse.ts),
// and how its body comes, which the request's method and the status decide (RFC 9110 §6.4.1, §15.4.5).
import { getHeader, type HeaderList, type ResponseBody, type ResponseHead } from '../http/head.ts';
import { rewriteResponseHeaders, type ReverseContext } from './reverse.ts';

export interface ClientResponseHead {
  headers: HeaderList;
  body: ResponseBody;
}

/** A final response to a request made with `method`. */
export function clientResponseHead(response: ResponseHead, method: string, reverse: ReverseContext): ClientResponseHead {
  const headers = rewriteResponseHeaders(response.headers, reverse);
  if (method === 'HEAD' || response.status === 204 || response.status === 304) {
    // The length the member would have sent for GET; the reader has already checked and normalised it.
    const length = getHeader(response.headers, 'content-length');
    if (length !== undefined && response.status !== 204) headers.push(['Content-Length', length]);
    return { headers, body: { kind: 'none' } };
  }
  if (response.framing.kind === 'length') return { headers, body: { kind: 'length', length: response.framing.length } };
  return { headers, body: { kind: 'stream' } };
}

/** The headers of the 101 a client gets when the member switched protocols; `upgrade` is the value forwarded to it. */
export function switchedResponseHeaders(response: ResponseHead, reverse: ReverseContext, upgrade: string): HeaderList {
  const headers = rewriteResponseHeaders(response.headers, reverse);
  headers.push(['Connection', 'Upgrade'], ['Upgrade', getHeader(response.headers, 'upgrade') ?? upgrade]);
  return headers;
}
