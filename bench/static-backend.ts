// Fast stand-ins for the Tomcat nodes: one nginx worker serving a few-byte file and a 1 MiB file over TLS
// (HTTP/2 for clients that offer it, so the h2 scenario can measure a member directly) on one port per
// member. Tomcat tops out well below what the balancers can forward on a small machine, so with these
// members the balancers' own cost is what the figures show.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateFiles } from '../test/support/certs.ts';
import { freePort } from '../test/support/ports.ts';
import type { Backend } from './backends.ts';
import type { RunningServer } from './foreground.ts';
import { nginxMainContext, nginxTempPaths, runNginx } from './nginx.ts';

export interface StaticBackendOptions extends CertificateFiles {
  ports: number[];
  /** Holds the config, logs and the document root. */
  dir: string;
}

export function staticBackendConfig(opts: StaticBackendOptions): string {
  const listens = opts.ports.map((p) => `    listen 127.0.0.1:${p} ssl http2;`).join('\n');
  // No access log and near-endless keep-alive: the members must cost as little per request as possible.
  return `${nginxMainContext(opts.dir)}
http {
  access_log off;
  keepalive_requests 100000;
${nginxTempPaths(opts.dir)}
  server {
${listens}
    ssl_certificate ${opts.certFile};
    ssl_certificate_key ${opts.keyFile};
    root ${join(opts.dir, 'www')};
  }
}
`;
}

/** Paths every static member serves. */
export const TINY_PATH = '/tiny.txt';
export const ONE_MIB_PATH = '/1mib.bin';

export interface StaticBackends extends RunningServer {
  /** One member per port, routes node1, node2... */
  members: Backend[];
}

export async function startStaticBackends(cert: CertificateFiles, dir: string, count: number): Promise<StaticBackends> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  await mkdir(join(dir, 'www'), { recursive: true });
  await writeFile(join(dir, 'www', TINY_PATH.slice(1)), 'tiny\n');
  await writeFile(join(dir, 'www', ONE_MIB_PATH.slice(1)), Buffer.alloc(1024 * 1024, 'x'));
  const server = await runNginx('static backends', dir, staticBackendConfig({ ...cert, ports, dir }), ports);
  return { ...server, members: ports.map((port, i) => ({ route: `node${i + 1}`, port })) };
}
