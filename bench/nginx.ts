// nginx as a drop-in for the seed deployment, as far as open-source nginx goes: TLS in, TLS to the nodes,
// round robin, a map from the jvmRoute suffix of JSESSIONID to a one-node upstream for stickiness, and
// proxy_redirect in place of ProxyPassReverse.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startForegroundTls, type RunningServer } from './foreground.ts';
import { DEFAULT_MAX_CONNECTIONS, type Backend, type PeerOptions } from './backends.ts';

export type NginxOptions = PeerOptions;

// Started as root, nginx drops its workers to `nobody`, which cannot enter the bench's private temp dir (the
// static members' document root, the temp paths); a master that is not root cannot switch users at all.
const WORKER_USER = process.getuid?.() === 0 ? 'user root;\n' : '';

// worker_connections counts the connections to the members too; after one request each, idle clients leave
// at most the upstreams' keepalive caches open behind them.
const UPSTREAM_CONNECTIONS = 1024;

/** The top of an nginx.conf that keeps every file nginx writes under `dir`. */
export function nginxMainContext(dir: string, maxConnections?: number): string {
  const workerConnections = maxConnections === undefined ? DEFAULT_MAX_CONNECTIONS : maxConnections + UPSTREAM_CONNECTIONS;
  // One worker process, like one Node event loop: the comparison is per core.
  return `${WORKER_USER}worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections ${workerConnections}; }`;
}

/** `http`-context lines: the compiled-in temp paths are under /var/lib/nginx. */
export function nginxTempPaths(dir: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`)
    .join('\n');
}

/** Runs nginx in the foreground on `config`, written into `dir`, until every port answers TLS. */
export async function runNginx(name: string, dir: string, config: string, ports: number[]): Promise<RunningServer> {
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'nginx.conf');
  await writeFile(configFile, config);
  // -e: nginx opens its error log before reading the config, and the default one is under /var/log.
  return startForegroundTls(name, '/usr/sbin/nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', configFile], ports);
}

export function nginxConfig(opts: NginxOptions): string {
  const upstream = (name: string, backends: Backend[]): string =>
    `  upstream ${name} {\n${backends.map((b) => `    server 127.0.0.1:${b.port};`).join('\n')}\n    keepalive 64;\n  }`;
  const perNode = opts.backends.map((b) => upstream(`node_${b.route}`, [b])).join('\n');
  const routes = opts.backends.map((b) => `    ~\\.${b.route}$ node_${b.route};`).join('\n');
  const redirects = opts.backends.map((b) => `      proxy_redirect https://127.0.0.1:${b.port}/ /;`).join('\n');
  // keepalive_requests: nginx closes a client connection after 1000 requests by default (over HTTP/2 with a
  // GOAWAY that fails the streams in flight); HAProxy and Stickler set no such limit.
  return `${nginxMainContext(opts.dir, opts.maxConnections)}
http {
  access_log ${join(opts.dir, 'access.log')};
  keepalive_requests 100000;
${nginxTempPaths(opts.dir)}
${upstream('cluster', opts.backends)}
${perNode}
  map $cookie_JSESSIONID $stickler_backend {
    default cluster;
${routes}
  }
  server {
    listen 127.0.0.1:${opts.port} ssl${opts.h2 ? ' http2' : ''};
    ssl_certificate ${opts.certFile};
    ssl_certificate_key ${opts.keyFile};
    ssl_session_cache shared:SSL:1m;
    location / {
      proxy_pass https://$stickler_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_ssl_session_reuse on;
${redirects}
    }
  }
}
`;
}

export function startNginx(opts: NginxOptions): Promise<RunningServer> {
  return runNginx('nginx', opts.dir, nginxConfig(opts), [opts.port]);
}
