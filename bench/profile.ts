// `npm run profile`: where Stickler's CPU time goes on the hot path. Runs the seed configuration in front of
// the static members under `--cpu-prof`, drives scenario (a) (keep-alive, sticky cookie) with wrk, and sums
// the profile's self time by function and by area (TLS, HTTP parsing, the exchange, the pools, GC...).
// PROFILE_SECONDS sets the load's length (default 10); PROFILE_PATH=/1mib.bin profiles scenario (c) instead.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apacheConfig } from '../test/support/apache.ts';
import { testCertificate } from '../test/support/certs.ts';
import { freePort } from '../test/support/ports.ts';
import { startStickler } from '../test/support/stickler.ts';
import { ONE_MIB_PATH, startStaticBackends, TINY_PATH } from './static-backend.ts';
import { runWrk } from './wrk.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The area a frame's self time is charged to; the first matching rule wins. */
const AREAS: Array<[string, (name: string, url: string) => boolean]> = [
  ['idle (waiting for I/O)', (name) => name === '(idle)'],
  ['garbage collection', (name) => name === '(garbage collector)'],
  ['native code outside JS (TLS crypto, syscalls)', (name, url) => name === '(program)' || (url === '' && !name.startsWith('('))],
  ['node: TLS and sockets (JS side)', (_n, url) => /node:(_tls|tls|net|internal\/(tls|net|stream_base|js_stream))/.test(url)],
  ['node: streams and events', (_n, url) => /node:(internal\/streams|events|internal\/event_target|stream)/.test(url)],
  ['node: timers and other internals', (_n, url) => url.startsWith('node:')],
  ['stickler: HTTP parse and serialize', (_n, url) => url.includes('/src/http/')],
  ['stickler: exchange and client connection', (_n, url) => url.includes('/src/server/')],
  ['stickler: upstream pools', (_n, url) => url.includes('/src/upstream/')],
  ['stickler: proxy (mapping, headers, cookies)', (_n, url) => url.includes('/src/proxy/') || url.includes('/src/sticky/')],
  ['stickler: balancer', (_n, url) => url.includes('/src/balancer/')],
  ['stickler: access log', (_n, url) => url.includes('/src/log/')],
  ['other', () => true],
];

function areaOf(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  return AREAS.find(([, matches]) => matches(functionName, url))![0];
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1).padStart(5)} %`;
}

/** Self-time tables of one .cpuprofile: by area, and the heaviest functions, as shares of the busy time. */
export function summarizeProfile(profile: { nodes: ProfileNode[] }, top = 25): string {
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const area = areaOf(node);
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
    if (node.callFrame.functionName === '(idle)') continue;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url;
    const key = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  const idle = byArea.get(AREAS[0]![0]) ?? 0;
  byArea.delete(AREAS[0]![0]);
  const rows = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${percent(v, total)}  ${k}`).join('\n');
  return `busy ${percent(total, total + idle)} of the samples; shares below are of the busy time\n\nby area:\n${rows(byArea, AREAS.length)}\n\nheaviest functions (self time):\n${rows(byFunction, top)}`;
}

async function main(): Promise<void> {
  const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) throw new Error(`PROFILE_SECONDS must be 1 to 120, not ${process.env.PROFILE_SECONDS}`);
  const dir = await mkdtemp(join(tmpdir(), 'stickler-profile-'));
  const cert = await testCertificate(dir);
  const members = await startStaticBackends(cert, join(dir, 'members'), 2);
  try {
    const port = await freePort();
    const configFile = join(dir, 'httpd.conf');
    await writeFile(configFile, apacheConfig({ port, ...cert, dir, members: members.members.map((m) => ({ url: `https://127.0.0.1:${m.port}`, route: m.route })) }));
    const profiles = join(dir, 'profiles');
    const stickler = await startStickler(configFile, { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profiles}` } });
    const path = process.env.PROFILE_PATH ?? TINY_PATH;
    if (path !== TINY_PATH && path !== ONE_MIB_PATH) throw new Error(`PROFILE_PATH must be ${TINY_PATH} or ${ONE_MIB_PATH}, not ${path}`);
    const url = `https://127.0.0.1:${port}${path}`;
    try {
      await runWrk(url, { threads: 2, connections: 10, durationSec: 2, headers: ['Cookie: JSESSIONID=x.node1'] });
      const result = await runWrk(url, { threads: 2, connections: 50, durationSec: seconds, headers: ['Cookie: JSESSIONID=x.node1'] });
      console.log(`wrk -t2 -c50 -d${seconds}s, sticky: ${result.requestsPerSec.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms (the profiler itself costs some)\n`);
    } finally {
      await stickler.stop();
    }
    const [file] = (await readdir(profiles)).filter((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile written in ${profiles}`);
    console.log(summarizeProfile(JSON.parse(await readFile(join(profiles, file), 'utf8'))));
  } finally {
    await members.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const watchdog = setTimeout(() => {
    console.error('profile: still running after 3 minutes; giving up');
    process.exit(1);
  }, 180_000);
  watchdog.unref();
  try {
    await main();
  } catch (err) {
    console.error(`profile failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
