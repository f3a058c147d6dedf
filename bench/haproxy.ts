// HAProxy as a drop-in for the seed deployment: TLS in, TLS to the nodes without verification, round robin,
// stickiness on the jvmRoute suffix of JSESSIONID (what mod_proxy_balancer's route= does), and the node's
// absolute Location rewritten to the front end (ProxyPassReverse).

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startForegroundTls, type RunningServer } from './foreground.ts';
import { DEFAULT_MAX_CONNECTIONS, type PeerOptions } from './backends.ts';

export interface HaproxyOptions extends PeerOptions {
  /** nbthread: 1 unless told, like one Node event loop, so the comparison is per core. */
  threads?: number;
}

export function haproxyConfig(opts: HaproxyOptions & { pemFile: string }): string {
  const sticky = opts.backends
    .map((b) => `  use-server ${b.route} if { req.cook(JSESSIONID) -m end .${b.route} }`)
    .join('\n');
  const servers = opts.backends
    .map((b) => `  server ${b.route} 127.0.0.1:${b.port} ssl verify none`)
    .join('\n');
  const reverse = opts.backends
    .map((b) => `  http-response replace-header Location ^https://127\\.0\\.0\\.1:${b.port}/(.*) https://%[var(txn.host)]/\\1`)
    .join('\n');
  // HAProxy reserves two descriptors per connection (client and server side) and by default refuses to start
  // when the descriptor limit (20 000 here) is below that, although idle client connections need only one.
  const limits = opts.maxConnections === undefined ? '' : '\n  no strict-limits';
  return `global
  nbthread ${opts.threads ?? 1}
  maxconn ${opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS}${limits}
  ssl-server-verify none

defaults
  mode http
  option forwardfor
  timeout connect 5s
  timeout client 60s
  timeout server 60s

frontend stickler_bench
  bind 127.0.0.1:${opts.port} ssl crt ${opts.pemFile}${opts.h2 ? ' alpn h2,http/1.1' : ''}
  default_backend cluster

backend cluster
  balance roundrobin
  # Response rules cannot read request headers, so the Host the client used is kept for the Location rewrite.
  http-request set-var(txn.host) req.hdr(host)
${sticky}
${servers}
${reverse}
`;
}

export async function startHaproxy(opts: HaproxyOptions): Promise<RunningServer> {
  // HAProxy wants the certificate and its key in one file.
  const pemFile = join(opts.dir, 'haproxy.pem');
  await writeFile(pemFile, (await readFile(opts.certFile, 'utf8')) + (await readFile(opts.keyFile, 'utf8')), { mode: 0o600 });
  const configFile = join(opts.dir, 'haproxy.cfg');
  await writeFile(configFile, haproxyConfig({ ...opts, pemFile }));
  return startForegroundTls('haproxy', '/usr/sbin/haproxy', ['-db', '-f', configFile], [opts.port]);
}
