// A real Tomcat 10 node with a jvmRoute, the stand-in for a WSO2 Identity Server node: HTTPS only, its own
// CATALINA_BASE under a temp dir (so several run side by side from Debian's one CATALINA_HOME), serving the
// fixture webapp in test/fixtures/tomcat/ROOT.

import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './client.ts';
import { freePort } from './ports.ts';
import { describeExit, spawnManaged, tail } from './process.ts';
import { pollUntil } from './wait.ts';
import { escapeXml } from './xml.ts';

export const CATALINA_HOME = '/usr/share/tomcat10';
const DEBIAN_CONF = '/etc/tomcat10';
const WEBAPP = fileURLToPath(new URL('../fixtures/tomcat/ROOT', import.meta.url));
const START_TIMEOUT_MS = 60_000;

export interface TomcatOptions {
  /** Names the node (counter.jsp's X-Node) and, unless `sessionRoute` is false, ends its session ids. */
  jvmRoute: string;
  /** false: the Engine has no jvmRoute, so session ids carry no route (Spring Boot, Keycloak 26.8). Default true. */
  sessionRoute?: boolean;
  certFile: string;
  keyFile: string;
  /** JVM options appended after the fast-start defaults, so they win (`-XX:TieredStopAtLevel=4` for benchmarks). */
  javaOpts?: string[];
  /** Listen here instead of on a free port: a node restarted where its balancer expects it. */
  port?: number;
  /** Where record.jsp appends a line for every request it executes; the file outlives the node. */
  recordFile?: string;
}

export interface TomcatNode {
  jvmRoute: string;
  port: number;
  /** `https://127.0.0.1:port` */
  url: string;
  /** Milliseconds from spawn until counter.jsp first answered. */
  startMs: number;
  /** Console output so far (catalina.sh run logs there). */
  output(): string;
  /** SIGTERM (Tomcat shuts down cleanly), SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL now: a node that crashes. */
  kill(): void;
}

export function serverXml(opts: TomcatOptions & { port: number; docBase: string }): string {
  const a = (v: string | number): string => `"${escapeXml(String(v))}"`;
  // Shutdown port -1: the node is stopped by signal, so no second port can clash between parallel nodes.
  return `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port=${a(opts.port)} address="127.0.0.1" protocol="org.apache.coyote.http11.Http11NioProtocol"
               SSLEnabled="true" scheme="https" secure="true" maxThreads="200">
      <SSLHostConfig>
        <Certificate certificateFile=${a(opts.certFile)} certificateKeyFile=${a(opts.keyFile)} />
      </SSLHostConfig>
    </Connector>
    <Engine name="Catalina" defaultHost="localhost"${opts.sessionRoute === false ? '' : ` jvmRoute=${a(opts.jvmRoute)}`}>
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" deployOnStartup="false">
        <Context path="" docBase=${a(opts.docBase)} useRelativeRedirects="false" />
      </Host>
    </Engine>
  </Service>
</Server>
`;
}

async function makeCatalinaBase(opts: TomcatOptions, port: number): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), `stickler-tomcat-${opts.jvmRoute}-`));
  for (const dir of ['conf', 'logs', 'temp', 'work', 'webapps']) await mkdir(join(base, dir));
  for (const file of ['web.xml', 'logging.properties', 'context.xml']) {
    await copyFile(join(DEBIAN_CONF, file), join(base, 'conf', file));
  }
  // Scanning every jar for TLDs and annotations costs seconds per start and the fixture needs none of it.
  const properties = await readFile(join(DEBIAN_CONF, 'catalina.properties'), 'utf8');
  await writeFile(
    join(base, 'conf', 'catalina.properties'),
    `${properties}\ntomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar\n`,
  );
  await writeFile(join(base, 'conf', 'server.xml'), serverXml({ ...opts, port, docBase: WEBAPP }));
  return base;
}

export async function startTomcat(opts: TomcatOptions): Promise<TomcatNode> {
  const port = opts.port ?? (await freePort());
  const base = await makeCatalinaBase(opts, port);
  const url = `https://127.0.0.1:${port}`;
  const started = Date.now();
  const proc = spawnManaged('tomcat ' + opts.jvmRoute, join(CATALINA_HOME, 'bin', 'catalina.sh'), ['run'], {
    env: {
      ...process.env,
      CATALINA_HOME,
      CATALINA_BASE: base,
      CATALINA_TMPDIR: join(base, 'temp'),
      CATALINA_PID: '',
      JAVA_OPTS: '',
      CATALINA_OPTS: [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-Xshare:auto',
        '-Djava.security.egd=file:/dev/urandom',
        // What WSO2 nodes are started with; the fixture pages read it to say which node answered.
        `-DjvmRoute=${opts.jvmRoute}`,
        ...(opts.recordFile === undefined ? [] : [`-Dstickler.recordFile=${opts.recordFile}`]),
        ...(opts.javaOpts ?? []),
      ].join(' '),
    },
  });
  const cleanup = async (): Promise<void> => {
    await proc.stop(10_000);
    await rm(base, { recursive: true, force: true });
  };
  try {
    await pollUntil(async () => (await request(`${url}/counter.jsp`, { timeoutMs: 5_000 })).status === 200, {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 250,
      what: `Tomcat ${opts.jvmRoute} on port ${port} answering /counter.jsp`,
      abort: () => {
        const s = proc.exitStatus();
        return s && new Error(`Tomcat ${opts.jvmRoute} exited (${describeExit(s)}) while starting\n${tail(proc.output())}`);
      },
      diagnostics: () => `catalina.sh output (tail):\n${tail(proc.output())}`,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    jvmRoute: opts.jvmRoute,
    port,
    url,
    startMs: Date.now() - started,
    output: () => proc.output(),
    stop: cleanup,
    kill: () => proc.kill(),
  };
}
