// Debian's pebble (the ACME test server) and pebble-challtestsrv as its DNS, on free loopback ports: pebble's own
// HTTPS certificate is made here (tests trust it through the CA bundle setting, as mod_md's MDCACertificateFile),
// challenges are really validated (PEBBLE_VA_ALWAYS_VALID off) at once (PEBBLE_VA_NOSLEEP), against the ports the
// test names, and every name resolves to 127.0.0.1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import { freePort } from './ports.ts';
import { spawnManaged, type ManagedProcess } from './process.ts';

const READY_MS = 20_000;

export interface PebbleOptions {
  /** The port pebble's HTTP-01 validation connects to (Stickler's plain port). */
  httpPort: number;
  /** The port pebble's TLS-ALPN-01 validation connects to (Stickler's TLS port). */
  tlsPort: number;
  /** Lifetime of the certificates it issues, seconds (pebble's certificateValidityPeriod); pebble's default otherwise. */
  validitySeconds?: number;
}

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** PEM of the certificate pebble's HTTPS presents: the CA bundle Stickler trusts for it. */
  caFile: string;
  /** Its private key, for a stand-in on the same port (a CA that answers errors) that Stickler trusts alike. */
  keyFile: string;
  /** Stops the ACME server (the DNS server keeps running), leaving its port free for a stand-in. */
  pause(): Promise<void>;
  /** Starts the ACME server again on the same port and certificate; accounts and orders are gone, as after any restart. */
  resume(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-pebble-'));
  const own = createSelfSigned({ commonName: 'pebble test', altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });
  const certificate = join(dir, 'pebble.crt');
  const privateKey = join(dir, 'pebble.key');
  writeFileSync(certificate, own.cert);
  writeFileSync(privateKey, own.key, { mode: 0o600 });
  const [acmePort, managementPort, dnsPort, dnsManagementPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'pebble-config.json');
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate, privateKey,
      httpPort: opts.httpPort,
      tlsPort: opts.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(opts.validitySeconds !== undefined && { certificateValidityPeriod: opts.validitySeconds }),
    },
  }));
  const dns = spawnManaged('pebble-challtestsrv', '/usr/bin/pebble-challtestsrv', [
    '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsManagementPort}`,
  ]);
  let pebble: ManagedProcess | undefined;
  const run = async () => {
    pebble = spawnManaged('pebble', '/usr/bin/pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], {
      // Every order validates afresh, and no nonce is refused at random: each test run does the same.
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_VA_ALWAYS_VALID: '0', PEBBLE_AUTHZREUSE: '0', PEBBLE_WFE_NONCEREJECT: '0' },
    });
    await pebble.waitForStdout((out) => out.includes('ACME directory available at'), READY_MS, 'serving its ACME directory');
  };
  try {
    await dns.waitForStdout((out) => out.includes('Starting management server'), READY_MS, 'starting its DNS server');
    await run();
  } catch (err) {
    await pebble?.stop(2_000);
    await dns.stop(2_000);
    throw err;
  }
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    caFile: certificate,
    keyFile: privateKey,
    output: () => pebble?.output() ?? '',
    pause: async () => {
      await pebble?.stop(5_000);
      pebble = undefined;
    },
    resume: run,
    stop: async () => {
      await pebble?.stop(5_000);
      await dns.stop(5_000);
    },
  };
}
