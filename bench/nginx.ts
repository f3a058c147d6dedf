// nginx as a drop-in for the seed deployment, as far as open-source nginx goes: TLS in, TLS to the nodes,
// round robin, a map from the jvmRoute suffix of JSESSIONID to a one-node upstream for stickiness, and
// proxy_redirect in place of ProxyPassReverse.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startForegroundTls, type RunningServer } from './foreground.ts';
import type { Backend } from './backends.ts';

export interface NginxOptions {
  port: number;
  certFile: string;
  keyFile: string;
  backends: Backend[];
  dir: string;
}

export function nginxConfig(opts: NginxOptions): string {
  const upstream = (name: string, backends: Backend[]): string =>
    `  upstream ${name} {\n${backends.map((b) => `    server 127.0.0.1:${b.port};`).join('\n')}\n    keepalive 64;\n  }`;
  const perNode = opts.backends.map((b) => upstream(`node_${b.route}`, [b])).join('\n');
  const routes = opts.backends.map((b) => `    ~\\.${b.route}$ node_${b.route};`).join('\n');
  const redirects = opts.backends.map((b) => `      proxy_redirect https://127.0.0.1:${b.port}/ /;`).join('\n');
  const d = opts.dir;
  // One worker process, like one Node event loop: the comparison is per core.
  return `worker_processes 1;
daemon off;
pid ${join(d, 'nginx.pid')};
error_log ${join(d, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log ${join(d, 'access.log')};
  client_body_temp_path ${join(d, 'client_body')};
  proxy_temp_path ${join(d, 'proxy')};
  fastcgi_temp_path ${join(d, 'fastcgi')};
  uwsgi_temp_path ${join(d, 'uwsgi')};
  scgi_temp_path ${join(d, 'scgi')};
${upstream('cluster', opts.backends)}
${perNode}
  map $cookie_JSESSIONID $stickler_backend {
    default cluster;
${routes}
  }
  server {
    listen 127.0.0.1:${opts.port} ssl;
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

export async function startNginx(opts: NginxOptions): Promise<RunningServer> {
  await mkdir(opts.dir, { recursive: true });
  const configFile = join(opts.dir, 'nginx.conf');
  await writeFile(configFile, nginxConfig(opts));
  // -e: nginx opens its error log before reading the config, and the default one is under /var/log.
  return startForegroundTls('nginx', '/usr/sbin/nginx', ['-p', opts.dir, '-e', join(opts.dir, 'error.log'), '-c', configFile], opts.port);
}
