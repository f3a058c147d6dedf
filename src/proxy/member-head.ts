// The request head a member gets: the client's head with its headers forwarded (forward.ts), the Upgrade the route
// allows, the body re-framed as the reader normalised it, and the target mapped onto the member's path.
import type { RequestHead } from '../http/head.ts';
import { serializeRequestHead } from '../http/serialize.ts';
import { forwardRequestHeaders, type ForwardContext } from './forward.ts';
import { memberRequestTarget } from './mapping.ts';

export interface MemberHeadContext extends ForwardContext {
  /** The client's target as ProxyPass maps it (see mapRequest), before the member URL's own path. */
  backendPath: string;
  /** The Upgrade value to forward when the route lets the request switch protocols (see allowedUpgrade). */
  upgrade: string | undefined;
}

/** The serialized head; throws HttpError 500 when the method or the mapped target cannot be sent as they are. */
export function memberRequestHead(head: RequestHead, ctx: MemberHeadContext): Buffer {
  const headers = forwardRequestHeaders(head.headers, ctx);
  if (ctx.upgrade) headers.push(['Connection', 'Upgrade'], ['Upgrade', ctx.upgrade]);
  const framing = head.framing;
  if (framing.kind === 'length') headers.push(['Content-Length', String(framing.length)]);
  else if (framing.kind === 'chunked') headers.push(['Transfer-Encoding', 'chunked']);
  return serializeRequestHead(head.method, memberRequestTarget(ctx.memberUrl, ctx.backendPath), headers);
}
