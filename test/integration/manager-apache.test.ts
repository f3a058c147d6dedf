// A curl script written for Apache's balancer-manager works unchanged against Stickler. The same Apache
// configuration (the seed deployment, with `<Location /balancer-manager>`) runs in Debian's apache2 and in
// Stickler's CLI, in front of the same members; one bash script scrapes the nonce and POSTs the manager's form
// parameters to each, and after every step both must show the same member states in `?xml` and send the same
// requests to the same members.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apacheConfig, startApache, BALANCER_NAME, type ApacheServer } from '../support/apache.ts';
import { testCertificate } from '../support/certs.ts';
import { request } from '../support/client.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';

const SCRIPT_TIMEOUT_MS = 15_000;

/**
 * The operator's script. It knows nothing of Stickler: Apache's page, its nonce in the links, its form
 * parameters, the Referer httpd insists on. NO_REFERER and NONCE let the test knock on the CSRF gates with it.
 */
const MANAGER_SCRIPT = `#!/usr/bin/env bash
# Drives httpd's balancer-manager.
# usage: manager.sh BASE_URL BALANCER ACTION [ARG...]
#   status                           the state as XML (?xml=1)
#   members                          the member URLs, from the page's links
#   disable|enable MEMBER            w_status_D
#   drain|undrain MEMBER             w_status_N
#   standby|unstandby MEMBER         w_status_H
#   factor MEMBER N                  w_lf
#   lbset MEMBER N                   w_ls
#   route MEMBER ROUTE REDIRECT      w_wr, w_rr
#   balancer KEY=VALUE...            b_lbm, b_tmo, b_max, b_sforce, b_ss
#   add MEMBER                       b_nwrkr (httpd adds it disabled)
# NO_REFERER=1 leaves the Referer out; NONCE=... is sent instead of the page's nonce.
set -euo pipefail
base=$1 balancer=$2 action=$3
shift 3
manager="$base/balancer-manager"

fetch() { curl --silent --show-error --fail --insecure --max-time 10 "$@"; }

page_nonce() {
  local nonce
  nonce=$(fetch "$manager" | grep -o 'nonce=[^&"]*' | head -n 1)
  echo "\${nonce#nonce=}"
}

post() {
  local referer=(-H "Referer: $manager")
  if [[ \${NO_REFERER:-} == 1 ]]; then referer=(); fi
  fetch "\${referer[@]}" --data-urlencode "b=$balancer" --data-urlencode "nonce=\${NONCE-$(page_nonce)}" "$@" "$manager" > /dev/null
}

member() { post --data-urlencode "w=$1" "\${@:2}"; }

case $action in
  status)    fetch -H "Referer: $manager" "$manager?xml=1" ;;
  members)   fetch "$manager" | grep -o 'w=[^&"]*' | cut -d= -f2- ;;
  disable)   member "$1" -d w_status_D=1 ;;
  enable)    member "$1" -d w_status_D=0 ;;
  drain)     member "$1" -d w_status_N=1 ;;
  undrain)   member "$1" -d w_status_N=0 ;;
  standby)   member "$1" -d w_status_H=1 ;;
  unstandby) member "$1" -d w_status_H=0 ;;
  factor)    member "$1" -d "w_lf=$2" ;;
  lbset)     member "$1" -d "w_ls=$2" ;;
  route)     member "$1" --data-urlencode "w_wr=$2" --data-urlencode "w_rr=$3" ;;
  balancer)
    settings=()
    for setting in "$@"; do settings+=(--data-urlencode "b_$setting"); done
    post "\${settings[@]}" ;;
  add)       post --data-urlencode "b_nwrkr=$1" -d b_wyes=1 ;;
  *)         echo "manager.sh: unknown action '$action'" >&2; exit 2 ;;
esac
`;

interface Member {
  name: string;
  url: string;
  server: https.Server;
}

let dir: string;
let script: string;
let members: Member[];
let apache: ApacheServer;
let stickler: SticklerProcess;
let sticklerPort: number;

/** An HTTPS member that answers every request with its name. */
async function startMember(name: string, cert: Buffer, key: Buffer): Promise<Member> {
  const server = https.createServer({ cert, key }, (req, res) => {
    req.resume();
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const url = (name: string) => members.find((m) => m.name === name)!.url;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-manager-apache-'));
  const certs = await testCertificate(dir);
  const [cert, key] = [readFileSync(certs.certFile), readFileSync(certs.keyFile)];
  // n1..n3 are configured; n4 is added through the manager.
  members = await Promise.all(['n1', 'n2', 'n3', 'n4'].map((name) => startMember(name, cert, key)));
  script = join(dir, 'manager.sh');
  await writeFile(script, MANAGER_SCRIPT, { mode: 0o755 });
  const config = async (port: number, sub: string) => {
    await mkdir(join(dir, sub));
    return apacheConfig({
      port,
      ...certs,
      dir: join(dir, sub),
      members: members.slice(0, 3).map((m) => ({ url: m.url, route: m.name })),
      // httpd's balancers have no room for a member added at run time unless growth says so.
      proxyPassExtra: 'growth=1',
      extraVhost: '<Location /balancer-manager>\n SetHandler balancer-manager\n Require local\n</Location>',
    });
  };
  const [apachePort, port] = await Promise.all([freePort(), freePort()]);
  sticklerPort = port;
  const file = join(dir, 'stickler.conf');
  await writeFile(file, await config(sticklerPort, 'stickler'));
  [apache, stickler] = await Promise.all([config(apachePort, 'apache').then(startApache), startStickler(file)]);
});

after(async () => {
  await Promise.all([apache?.stop(), stickler?.stop()]);
  for (const m of members ?? []) m.server.close();
  await rm(dir, { recursive: true, force: true });
});

function runScript(port: number, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [script, `https://127.0.0.1:${port}`, BALANCER_NAME, ...args], { env: { ...process.env, ...env }, timeout: SCRIPT_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`manager.sh ${args.join(' ')} against 127.0.0.1:${port} failed (${err.message.trim()}): ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The same script step against Apache, then against Stickler. */
async function both(args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  await runScript(apache.port, args, env);
  await runScript(sticklerPort, args, env);
}

type Fields = Record<string, string>;
interface ManagerState {
  balancer: Fields;
  workers: Fields[];
}

/** What a script reads from `?xml`; counters of bytes, pool sizes and the nonce differ by nature, and are left out. */
const BALANCER_FIELDS = ['name', 'stickysession', 'nofailover', 'timeout', 'maxattempts', 'lbmethod'];
const WORKER_FIELDS = ['name', 'scheme', 'hostname', 'port', 'loadfactor', 'status', 'lbstatus', 'elected', 'route', 'redirect', 'busy', 'lbset'];

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** httpd escapes with named entities, Stickler with numeric ones. */
const unescapeXml = (text: string) => text.replace(/&(?:#(\d+)|(\w+));/g, (entity, code, name) => (code ? String.fromCharCode(Number(code)) : (ENTITIES[name] ?? entity)));

/** The first value of each `<httpd:x>` element in `xml` that has no child elements. */
function fields(xml: string, names: string[]): Fields {
  const out: Fields = {};
  for (const m of xml.matchAll(/<httpd:(\w+)>([^<]*)<\/httpd:\1>/g)) {
    if (names.includes(m[1]!) && !(m[1]! in out)) out[m[1]!] = unescapeXml(m[2]!);
  }
  return out;
}

function parseState(xml: string): ManagerState {
  const balancer = /<httpd:balancer>([\s\S]*?)<\/httpd:balancer>/.exec(xml)?.[1];
  assert.ok(balancer, `no <httpd:balancer> in ${xml.slice(0, 300)}`);
  const [head = '', workers = ''] = balancer.split('<httpd:workers>');
  return {
    balancer: fields(head, BALANCER_FIELDS),
    workers: [...workers.matchAll(/<httpd:worker>([\s\S]*?)<\/httpd:worker>/g)].map((w) => fields(w[1]!, WORKER_FIELDS)),
  };
}

async function state(port: number): Promise<ManagerState> {
  return parseState(await runScript(port, ['status']));
}

async function assertSameState(what: string): Promise<ManagerState> {
  const [viaApache, viaStickler] = await Promise.all([state(apache.port), state(sticklerPort)]);
  assert.deepEqual(viaStickler, viaApache, `${what}: Stickler's ?xml (actual) differs from Apache's (expected)`);
  return viaApache;
}

/** The member that answered each request (or the status when none did), in order. */
async function answers(port: number, cookies: Array<string | undefined>): Promise<string[]> {
  const out: string[] = [];
  for (const cookie of cookies) {
    const r = await request(`https://127.0.0.1:${port}/app`, { headers: cookie ? { cookie } : {}, timeoutMs: 5_000 });
    out.push(r.status === 200 ? r.body : String(r.status));
  }
  return out;
}

const fresh = (n: number) => Array.from({ length: n }, () => undefined);
const sticky = (route: string) => `JSESSIONID=abc.${route}`;
/** New sessions, then one request sticking to each route, then new sessions again: sticky requests move lbstatus too. */
const MIX = [...fresh(6), sticky('n1'), sticky('n2'), sticky('n3'), ...fresh(4)];

/** Sends `cookies` through both, compares who answered, then the state the traffic left. */
async function assertSameRouting(what: string, cookies: Array<string | undefined> = MIX): Promise<string[]> {
  const viaApache = await answers(apache.port, cookies);
  const viaStickler = await answers(sticklerPort, cookies);
  assert.deepEqual(viaStickler, viaApache, `${what}: members that answered through Stickler (actual) and Apache (expected)`);
  await assertSameState(`${what}, after the traffic`);
  return viaApache;
}

const worker = (s: ManagerState, name: string) => s.workers.find((w) => w.name === url(name))!;

describe('an Apache balancer-manager curl script against apache2 and Stickler', () => {
  test('the same page, nonce and state before any change', async () => {
    for (const port of [apache.port, sticklerPort]) {
      const xml = await runScript(port, ['status']);
      const page = (await request(`https://127.0.0.1:${port}/balancer-manager`)).body;
      const nonce = /<httpd:nonce>([^<]+)<\/httpd:nonce>/.exec(xml)?.[1];
      assert.ok(nonce, `no <httpd:nonce> in ${port === apache.port ? 'Apache' : 'Stickler'}'s XML`);
      assert.match(page, new RegExp(`nonce=${nonce}`), 'the page links carry the XML nonce');
    }
    const configured = members.slice(0, 3).map((m) => m.url);
    for (const port of [apache.port, sticklerPort]) assert.deepEqual((await runScript(port, ['members'])).trim().split('\n'), configured);
    const initial = await assertSameState('as configured');
    assert.deepEqual(initial.workers.map((w) => [w.route, w.status]), [['n1', 'Init Ok '], ['n2', 'Init Ok '], ['n3', 'Init Ok ']]);
    const answered = await assertSameRouting('as configured');
    assert.deepEqual(answered.slice(0, 6), ['n1', 'n2', 'n3', 'n1', 'n2', 'n3']);
  });

  test('?xml without a Referer: both answer the HTML page, as httpd drops every parameter', async () => {
    for (const port of [apache.port, sticklerPort]) {
      const r = await request(`https://127.0.0.1:${port}/balancer-manager?xml=1`);
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'] ?? '', /^text\/html/);
      assert.doesNotMatch(r.body, /<httpd:manager/);
    }
  });

  test('disable (w_status_D=1), then enable again', async () => {
    await both(['disable', url('n1')]);
    assert.equal(worker(await assertSameState('n1 disabled'), 'n1').status, 'Init Dis ');
    const answered = await assertSameRouting('n1 disabled');
    assert.ok(!answered.includes('n1'), 'a disabled member takes nothing, sticky requests included');
    await both(['enable', url('n1')]);
    await assertSameState('n1 enabled');
    await assertSameRouting('n1 enabled');
  });

  test('loadfactor (w_lf=2)', async () => {
    await both(['factor', url('n2'), '2']);
    const s = await assertSameState('n2 loadfactor 2');
    assert.equal(worker(s, 'n2').loadfactor, '2.00');
    const answered = await assertSameRouting('n2 loadfactor 2', fresh(12));
    assert.equal(answered.filter((n) => n === 'n2').length, 6);
  });

  test('route and redirect (w_wr, w_rr): a disabled member\'s sessions go to its redirect', async () => {
    await both(['route', url('n3'), 'n3b', '']);
    await both(['route', url('n1'), 'n1', 'n3b']);
    const s = await assertSameState('n3 renamed n3b, n1 redirects to it');
    assert.deepEqual([worker(s, 'n3').route, worker(s, 'n1').redirect], ['n3b', 'n3b']);
    await both(['disable', url('n1')]);
    const cookies = [sticky('n1'), sticky('n1'), sticky('n3'), sticky('n3b'), ...fresh(3)];
    const answered = await assertSameRouting('n1 disabled, redirecting to n3b', cookies);
    assert.deepEqual(answered.slice(0, 2), ['n3', 'n3']);
    await both(['enable', url('n1')]);
    await both(['route', url('n1'), 'n1', '']);
    await both(['route', url('n3'), 'n3', '']);
    await assertSameState('routes restored');
  });

  test('drain (w_status_N=1): no new sessions, its sessions still reach it', async () => {
    await both(['drain', url('n2')]);
    assert.equal(worker(await assertSameState('n2 draining'), 'n2').status, 'Init Drn Ok ');
    const answered = await assertSameRouting('n2 draining');
    assert.deepEqual(answered.filter((n) => n === 'n2'), ['n2'], 'only the sticky request reaches n2');
    await both(['undrain', url('n2')]);
    await assertSameRouting('n2 no longer draining');
  });

  test('hot standby (w_status_H=1): used only when the others are not', async () => {
    await both(['standby', url('n3')]);
    assert.equal(worker(await assertSameState('n3 standby'), 'n3').status, 'Init Stby Ok ');
    assert.ok(!(await assertSameRouting('n3 standby', fresh(6))).includes('n3'));
    await both(['disable', url('n1')]);
    await both(['disable', url('n2')]);
    assert.deepEqual(await assertSameRouting('n3 standby, n1 and n2 disabled', fresh(3)), ['n3', 'n3', 'n3']);
    await both(['enable', url('n1')]);
    await both(['enable', url('n2')]);
    await both(['unstandby', url('n3')]);
    await assertSameRouting('n3 back in service');
  });

  test('lbset (w_ls=1): a higher set is used only when the lower one is exhausted', async () => {
    await both(['lbset', url('n1'), '1']);
    assert.equal(worker(await assertSameState('n1 in lbset 1'), 'n1').lbset, '1');
    assert.ok(!(await assertSameRouting('n1 in lbset 1', fresh(6))).includes('n1'));
    await both(['disable', url('n2')]);
    await both(['disable', url('n3')]);
    assert.deepEqual(await assertSameRouting('lbset 0 all disabled', fresh(3)), ['n1', 'n1', 'n1']);
    await both(['enable', url('n2')]);
    await both(['enable', url('n3')]);
    await both(['lbset', url('n1'), '0']);
    await assertSameRouting('n1 back in lbset 0');
  });

  test('balancer settings (b_tmo, b_max, b_sforce, b_ss)', async () => {
    await both(['balancer', 'tmo=3', 'max=1']);
    const s = await assertSameState('timeout 3, maxattempts 1');
    assert.deepEqual([s.balancer.timeout, s.balancer.maxattempts], ['3', '1']);
    await assertSameRouting('timeout 3, maxattempts 1');
    // Back to no waiting before anything can find no member.
    await both(['balancer', 'tmo=0']);

    // Disable Failover: a session whose member is disabled gets 503 instead of another member.
    await both(['balancer', 'sforce=1']);
    await both(['disable', url('n2')]);
    assert.equal((await assertSameState('nofailover')).balancer.nofailover, 'On');
    const answered = await assertSameRouting('nofailover, n2 disabled', [sticky('n2'), sticky('n1'), ...fresh(3)]);
    assert.deepEqual(answered.slice(0, 2), ['503', 'n1']);
    await both(['enable', url('n2')]);
    await both(['balancer', 'sforce=0']);

    // Another cookie name: JSESSIONID no longer sticks, ROUTEID does.
    await both(['balancer', 'ss=ROUTEID']);
    assert.equal((await assertSameState('stickysession ROUTEID')).balancer.stickysession, 'ROUTEID');
    const routed = await assertSameRouting('stickysession ROUTEID', [sticky('n3'), 'ROUTEID=x.n3', 'ROUTEID=x.n3', ...fresh(3)]);
    assert.deepEqual(routed.slice(1, 3), ['n3', 'n3']);
    // curl sends the spaces as `+`, which httpd does not decode: the cookie is now called `JSESSIONID+`.
    await both(['balancer', 'ss=JSESSIONID | jsessionid']);
    assert.equal((await assertSameState('stickysession with spaces')).balancer.stickysession, 'JSESSIONID+');
    await assertSameRouting('stickysession JSESSIONID+', [sticky('n1'), sticky('n1'), ...fresh(3)]);
    await both(['balancer', 'ss=JSESSIONID']);
    await assertSameRouting('stickysession JSESSIONID again');
  });

  test('add a worker (b_nwrkr, b_wyes=1): it starts disabled, then takes its share once enabled', async () => {
    await both(['add', url('n4')]);
    const s = await assertSameState('n4 added');
    assert.equal(worker(s, 'n4').status, 'Init Dis ');
    await assertSameRouting('n4 added, disabled', fresh(4));
    await both(['route', url('n4'), 'n4', '']);
    await both(['enable', url('n4')]);
    await assertSameState('n4 enabled');
    const answered = await assertSameRouting('n4 enabled', [...MIX, sticky('n4')]);
    assert.ok(answered.includes('n4'));
  });

  test('growth=1 is used up: the balancer form offers no Add New Worker field', async () => {
    for (const port of [apache.port, sticklerPort]) {
      const page = (await request(`https://127.0.0.1:${port}/balancer-manager?b=${BALANCER_NAME}`, { headers: { referer: `https://127.0.0.1:${port}/` } })).body;
      assert.match(page, /Edit balancer settings/);
      assert.match(page, /<td>4 \[4 Used\]<\/td>/);
      assert.doesNotMatch(page, /b_nwrkr/);
    }
  });

  test('b_nwrkr for a URL already there: httpd answers 400, so the script fails', async () => {
    const outcome = (port: number) => runScript(port, ['add', url('n1')]).then(() => 'added', () => 'refused');
    const [viaApache, viaStickler] = [await outcome(apache.port), await outcome(sticklerPort)];
    await assertSameState('after adding n1 again');
    assert.deepEqual([viaApache, viaStickler], ['refused', 'refused']);
  });

  test('CSRF gates: a POST without Referer or with a wrong nonce, and a GET, change nothing', async () => {
    const before = await assertSameState('before the forged POSTs');
    await both(['disable', url('n2')], { NO_REFERER: '1' });
    await both(['factor', url('n3'), '5'], { NONCE: '00000000-0000-0000-0000-000000000000' });
    await both(['disable', url('n2')], { NONCE: '' });
    // httpd 2.2 scripts changed members with GET; 2.4 reads only b, w, nonce and xml from a query.
    for (const port of [apache.port, sticklerPort]) {
      const nonce = /<httpd:nonce>([^<]+)</.exec(await runScript(port, ['status']))![1]!;
      const query = new URLSearchParams({ b: BALANCER_NAME, w: url('n2'), w_status_D: '1', nonce });
      const r = await request(`https://127.0.0.1:${port}/balancer-manager?${query}`, { headers: { referer: `https://127.0.0.1:${port}/balancer-manager` } });
      assert.equal(r.status, 200);
    }
    assert.deepEqual(await assertSameState('after the forged requests'), before);
  });

  // The last two steps leave the balancers apart until Stickler behaves as httpd does, so nothing follows them.
  test('b_ss=- removes stickiness', async () => {
    await both(['balancer', 'ss=-']);
    assert.equal((await assertSameState('no stickysession')).balancer.stickysession, undefined);
    await assertSameRouting('no stickysession', [sticky('n3'), sticky('n3'), ...fresh(3)]);
    await both(['balancer', 'ss=JSESSIONID']);
    await assertSameRouting('stickysession JSESSIONID again');
  });

  test('lbmethod (b_lbm): a new method starts every member afresh', async () => {
    await both(['balancer', 'lbm=bybusyness']);
    assert.equal((await assertSameState('bybusyness')).balancer.lbmethod, 'bybusyness');
    await assertSameRouting('bybusyness');
    await both(['balancer', 'lbm=byrequests']);
    await assertSameState('byrequests again');
    await assertSameRouting('byrequests again');
  });
});
