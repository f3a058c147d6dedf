// In-process Stickler for engine tests: a configuration built in code (no file), started on a free port,
// in front of whatever backends the test starts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BalancerConfig, ClientPolicy, MemberConfig, SticklerConfig, VirtualHostConfig } from '../../src/config/model.ts';
import { Stickler } from '../../src/server/server.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import type { CertificateFiles } from './certs.ts';

const source = { file: 'test', line: 1 };

let certs: { certFile: string; keyFile: string; cert: string } | undefined;

/** One self-signed certificate for localhost/127.0.0.1, shared by every engine test in the process. */
export function localCertificate(): { certFile: string; keyFile: string; cert: string } {
  if (!certs) {
    const dir = mkdtempSync(join(tmpdir(), 'stickler-engine-'));
    const { cert, key } = createSelfSigned({ commonName: 'localhost', altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });
    writeFileSync(join(dir, 'cert.pem'), cert);
    writeFileSync(join(dir, 'key.pem'), key);
    certs = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), cert };
  }
  return certs;
}

export function member(url: string, extra: Partial<MemberConfig> = {}): MemberConfig {
  return { source, url, route: '', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000, ...extra };
}

export interface EngineOptions {
  members: MemberConfig[];
  balancer?: Partial<BalancerConfig>;
  vhost?: Partial<VirtualHostConfig>;
  timeout?: number;
  keepAliveTimeout?: number;
  /** Access log file (combined format). */
  accessLog?: string;
  /** Listen without TLS (an `http://` front end). */
  plain?: boolean;
  /** Client limits and timeouts beyond the defaults. */
  client?: Partial<ClientPolicy>;
}

export function engineConfig(port: number, opts: EngineOptions): SticklerConfig {
  const { certFile, keyFile } = localCertificate();
  const balancer: BalancerConfig = {
    source,
    name: 'cluster',
    lbmethod: 'byrequests',
    sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' },
    stickySeparator: '.',
    scolonPathDelim: true,
    nofailover: false,
    timeout: 0,
    forceRecovery: true,
    failOnStatus: [],
    members: opts.members,
    ...opts.balancer,
  };
  const vhost: VirtualHostConfig = {
    source,
    host: '*',
    port,
    serverName: 'localhost',
    serverAliases: [],
    tls: opts.plain ? undefined : { source, certificateFile: certFile, keyFile },
    backendTls: { enabled: true, verify: 'none', checkPeerName: false },
    preserveHost: false,
    addForwardedHeaders: true,
    routes: [
      { source, path: '/balancer-manager', target: { kind: 'exclude' } },
      { source, path: '/', target: { kind: 'balancer', balancer: 'cluster', path: '/' } },
    ],
    reverse: [{ source, path: '/', url: 'balancer://cluster/' }],
    cookiePaths: [],
    cookieDomains: [],
    locations: [],
    proxyAccess: [],
    ...opts.vhost,
  };
  return {
    dialect: 'apache',
    listeners: [{ source, host: '127.0.0.1', port, tls: !opts.plain }],
    virtualHosts: [vhost],
    balancers: [balancer],
    log: { format: { kind: 'stickler' }, ...(opts.accessLog && { access: opts.accessLog }) },
    timeout: opts.timeout ?? 60_000,
    keepAliveTimeout: opts.keepAliveTimeout ?? 5_000,
    gracefulShutdownTimeout: 30_000,
    ...(opts.client && { client: opts.client }),
  };
}

export async function startEngine(port: number, opts: EngineOptions): Promise<Stickler> {
  const stickler = new Stickler(engineConfig(port, opts));
  await stickler.start();
  return stickler;
}

/**
 * A native YAML file for the CLI: one TLS virtual host on 127.0.0.1:`port` sending `/` to balancer `cluster`,
 * sticky on JSESSIONID (cookie and `;jsessionid=`), with the given members.
 */
export interface YamlOptions {
  /** Protocols the route may upgrade to (`websocket`). */
  upgrade?: string;
  /** Top-level keys written before the rest (`graceful-shutdown-timeout: 1s`). */
  top?: string;
  /** Keys every member gets besides url and route, as YAML lines (`health-check:` and its entries). */
  member?: string[];
  /** Keys the balancer gets besides sticky-session and members, as YAML lines (`cookie:` and its entries). */
  balancer?: string[];
  /** The virtual host's certificate and key, when the test has its own (the one Tomcat members use); else localCertificate(). */
  certificates?: CertificateFiles;
  /** More keys of the virtual host's `tls`, in YAML's flow style (`client-certificates: { verify: optional }`). */
  tls?: string;
}

/** `lines`: keys of this member only, after those every member gets. */
export function yamlConfig(port: number, members: Array<{ url: string; route: string; lines?: string[] }>, opts: YamlOptions = {}): string {
  const { certFile, keyFile } = opts.certificates ?? localCertificate();
  return `${opts.top ? `${opts.top}\n` : ''}listeners:
  - host: 127.0.0.1
    port: ${port}
virtual-hosts:
  - port: ${port}
    server-name: localhost
    tls: { certificate-file: ${certFile}, key-file: ${keyFile}${opts.tls ? `, ${opts.tls}` : ''} }
    backend-tls: { verify: none }
    routes:
      - path: /
        balancer: cluster${opts.upgrade ? `\n        upgrade: ${opts.upgrade}` : ''}
balancers:
  cluster:
    sticky-session: JSESSIONID|jsessionid
${(opts.balancer ?? []).map((l) => `    ${l}\n`).join('')}    members:
${members.map((m) => [`      - url: ${m.url}`, `        route: ${m.route}`, ...[...(opts.member ?? []), ...(m.lines ?? [])].map((l) => `        ${l}`)].join('\n')).join('\n')}
`;
}
