// Whether a request asks to switch protocols (RFC 9110 §7.8) in a way a route allows. Only HTTP/1.1 GET can:
// that is how WebSocket opens (RFC 6455 §4.1), and a request with a body would leave its bytes ambiguous.
import { getHeader, getHeaders, type RequestHead } from '../http/head.ts';

/** The Upgrade value to forward, when the request asks for a protocol `allowed` names (`*` allows any). */
export function allowedUpgrade(head: RequestHead, allowed: readonly string[] | undefined): string | undefined {
  if (!allowed || head.minor !== 1 || head.method !== 'GET' || head.framing.kind !== 'none') return undefined;
  const upgrade = getHeader(head.headers, 'upgrade')?.trim();
  if (!upgrade) return undefined;
  const asked = getHeaders(head.headers, 'connection').some((v) => v.split(',').some((t) => t.trim().toLowerCase() === 'upgrade'));
  if (!asked) return undefined;
  // The first protocol named is the one a WebSocket client wants; `websocket/13` style versions are ignored.
  const first = upgrade.split(',')[0]!.trim().split('/')[0]!.toLowerCase();
  return allowed.includes('*') || allowed.includes(first) ? upgrade : undefined;
}
