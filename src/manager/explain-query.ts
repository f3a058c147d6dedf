// The manager's explain, GET /api/v1/explain?url=URL&cookie=NAME%3Dvalue...&host=HOST: the routing decision a request
// would get now, on the live state but changing none of it (explain/dry-run.ts), as the JSON access log records it,
// with its text rendering. Only routes matter to the answer: `cookie=JSESSIONID%3Dx.node2` explains as well as a
// real session id, which is better kept out of URLs and the logs that keep them.
import { explainRequest, type Explanation } from '../explain/dry-run.ts';
import { explanationText } from '../explain/text.ts';
import type { Balancer } from '../balancer/balancer.ts';
import type { VirtualHostConfig } from '../config/model.ts';

/** Long enough for any URL a browser sends; a bound on what one query makes the manager parse. */
export const EXPLAIN_URL_LIMIT = 8 * 1024;
/** More cookies than any routing decision reads (it reads one or two names): a bound on what one query makes the manager join. */
export const EXPLAIN_COOKIE_LIMIT = 32;
const USAGE = `expected ?url=https://host/path (or /path) with at most ${EXPLAIN_COOKIE_LIMIT} cookie=NAME%3Dvalue and at most one host=HOST`;

export type ExplainAnswer = { ok: true; value: Explanation & { text: string } } | { ok: false; status: number; reason: string };

export function explainAnswer(query: string, virtualHosts: VirtualHostConfig[], balancers: ReadonlyMap<string, { readonly balancer: Balancer }>, now: number): ExplainAnswer {
  const params = new URLSearchParams(query);
  const unknown = [...params.keys()].find((k) => k !== 'url' && k !== 'cookie' && k !== 'host');
  if (unknown !== undefined) return { ok: false, status: 400, reason: `unknown parameter ${JSON.stringify(unknown)}; ${USAGE}` };
  const urls = params.getAll('url');
  const hosts = params.getAll('host');
  if (urls.length !== 1 || hosts.length > 1) return { ok: false, status: 400, reason: USAGE };
  const url = urls[0]!;
  if (url.length > EXPLAIN_URL_LIMIT) return { ok: false, status: 400, reason: `the url is ${url.length} characters long; expected at most ${EXPLAIN_URL_LIMIT}` };
  const cookies = params.getAll('cookie');
  if (cookies.length > EXPLAIN_COOKIE_LIMIT) return { ok: false, status: 400, reason: `${cookies.length} cookie parameters; ${USAGE}` };
  const bare = cookies.find((c) => !c.includes('='));
  if (bare !== undefined) return { ok: false, status: 400, reason: `cookie=${JSON.stringify(bare)} has no '=' (URL-encoded %3D); ${USAGE}` };
  if ((hosts[0]?.length ?? 0) > EXPLAIN_URL_LIMIT) return { ok: false, status: 400, reason: `the host is ${hosts[0]!.length} characters long; expected at most ${EXPLAIN_URL_LIMIT}` };
  const request = { url, cookies: cookies.length > 0 ? [cookies.join('; ')] : [], ...(hosts[0] !== undefined && { host: hosts[0] }) };
  const explained = explainRequest(virtualHosts, balancers, request, 'the live state of this Stickler', now);
  if (!explained.ok) return { ok: false, status: explained.badUrl ? 400 : 404, reason: explained.reason };
  return { ok: true, value: { ...explained.explanation, text: explanationText(explained.explanation) } };
}
