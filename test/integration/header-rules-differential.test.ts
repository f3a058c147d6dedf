// Apache's documented recipe for balancer-set stickiness, differentially: Debian's apache2 (with mod_headers) and
// Stickler started on the same text (the seed's virtual host with stickysession=ROUTEID and the ROUTEID Header
// line), the same script sent to both, and for every request the member that answered and the Set-Cookie the
// client got compared. Members are recording backends: the port a request arrived on names the member. Beside the
// recipe, two everyday rules: the HSTS field the client gets, and the Authorization field the member does not get.
// Both sides start fresh and run the whole script in the same order, so byrequests' counters (which decide every
// request without a usable route) move in step: the comparison covers those requests too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeader } from '../../src/http/head.ts';
import { apacheConfig, startApache, type ApacheMember } from '../support/apache.ts';
import { CookieJar, request } from '../support/client.ts';
import { localCertificate } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler } from '../support/stickler.ts';

const RULES = ` Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
 Header always set Strict-Transport-Security "max-age=63072000"
 RequestHeader unset Authorization`;

/** Every request carries credentials, which the member must not see. */
const AUTHORIZATION = 'Basic dXNlcjpzZWNyZXQ=';

/** One request: `browser` names a cookie jar kept across the script (a browser that stores what it is sent). */
interface Step {
  what: string;
  cookie?: string;
  browser?: string;
}

const SCRIPT: Step[] = [
  { what: 'a new session, no cookie', browser: 'a' },
  { what: 'the browser sends back the cookie it was given', browser: 'a' },
  { what: 'a second new session', browser: 'b' },
  { what: 'the second browser keeps its cookie', browser: 'b' },
  { what: 'the second browser again', browser: 'b' },
  { what: 'a browser keeping ROUTEID=.node2', cookie: 'ROUTEID=.node2' },
  { what: 'a given route', cookie: 'ROUTEID=.node1' },
  { what: 'an unknown route', cookie: 'ROUTEID=.nodeX' },
  { what: 'an unknown route again', cookie: 'ROUTEID=.nodeX' },
  { what: 'a value without the leading dot', cookie: 'ROUTEID=node1' },
  { what: 'another value without the leading dot', cookie: 'ROUTEID=node2' },
  { what: 'JSESSIONID before ROUTEID, other routes', cookie: 'JSESSIONID=ABC.node1; ROUTEID=.node2' },
  { what: 'ROUTEID before JSESSIONID, other routes', cookie: 'ROUTEID=.node1; JSESSIONID=ABC.node2' },
  { what: 'JSESSIONID alone, not the sticky name', cookie: 'JSESSIONID=ABC.node2' },
  { what: 'a new session after the rest, no cookie' },
  { what: 'and another', browser: 'c' },
  { what: 'which keeps its cookie', browser: 'c' },
];

interface Seen {
  what: string;
  status: number;
  member: string;
  setCookie: string[];
  hsts: string | undefined;
  /** The Authorization field the member got. */
  authorization: string | undefined;
}

let backend: RecordingBackend;
let members: ApacheMember[];
let dir: string;

before(async () => {
  backend = await RecordingBackend.start(2);
  members = backend.ports.map((port, i) => ({ url: `https://127.0.0.1:${port}`, route: `node${i + 1}` }));
  dir = await mkdtemp(join(tmpdir(), 'stickler-headers-diff-'));
});

after(async () => {
  await backend?.close();
});

/** The seed's virtual host on `port`, with the recipe, for either product. */
async function configText(port: number, name: string): Promise<string> {
  const home = join(dir, name);
  await mkdir(home, { recursive: true });
  const { certFile, keyFile } = localCertificate();
  return apacheConfig({ port, certFile, keyFile, members, dir: home, stickysession: 'ROUTEID', extraVhost: RULES });
}

/** Runs the script against a product just started, and stops it: every run begins from byrequests' first state. */
async function run(start: () => Promise<{ port: number; stop(): Promise<void> }>): Promise<Seen[]> {
  const product = await start();
  try {
    const jars = new Map<string, CookieJar>();
    const seen: Seen[] = [];
    for (const step of SCRIPT) {
      const jar = step.browser === undefined ? undefined : jars.get(step.browser) ?? jars.set(step.browser, new CookieJar()).get(step.browser)!;
      const from = backend.connections.length;
      const r = await request(`https://127.0.0.1:${product.port}/app/page`, {
        headers: { authorization: AUTHORIZATION, ...(step.cookie !== undefined && { cookie: step.cookie }) },
        ...(jar && { jar }),
      });
      const answered = backend.connections.slice(from).filter((c) => c.requests.length > 0);
      assert.equal(answered.length, 1, `${step.what}: ${answered.length} members got the request (status ${r.status})`);
      const { port, requests } = answered[0]!;
      seen.push({
        what: step.what,
        status: r.status,
        member: members[backend.ports.indexOf(port)]!.route,
        setCookie: r.headers['set-cookie'] ?? [],
        hsts: r.headers['strict-transport-security'],
        authorization: getHeader(requests[0]!.headers, 'authorization'),
      });
    }
    return seen;
  } finally {
    await product.stop();
  }
}

test('the ROUTEID recipe, HSTS and RequestHeader unset: the same member, Set-Cookie, HSTS and forwarded Authorization from Apache and Stickler for every request', async () => {
  const viaApache = await run(async () => startApache(await configText(await freePort(), 'apache')));
  const viaStickler = await run(async () => {
    const port = await freePort();
    const file = join(dir, 'stickler.conf');
    await writeFile(file, await configText(port, 'stickler'));
    const stickler = await startStickler(file);
    return { port, stop: () => stickler.stop() };
  });
  assert.deepEqual(viaStickler, viaApache);
  // What the comparison rests on, so that two products failing alike cannot pass: the recipe issued a cookie and
  // the cookie then held, on both members.
  assert.deepEqual(viaApache.slice(0, 2).map((s) => [s.member, s.setCookie]), [['node1', ['ROUTEID=.node1; path=/']], ['node1', []]]);
  assert.deepEqual(new Set(viaApache.map((s) => s.member)), new Set(['node1', 'node2']));
  assert.deepEqual(viaApache.filter((s) => s.hsts !== 'max-age=63072000' || s.authorization !== undefined), []);
});
