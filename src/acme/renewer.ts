// The managed domains' lifecycle in the thread that orders (the main thread): a temporary self-signed certificate
// where the store has none, so the TLS port can start (as mod_md does); an order at once for it, and for every
// domain a renewal inside its window, with jitter; retries with backoff; the new certificate written to the store
// and swapped in on every thread with no restart (Stickler/WorkerGroup.swapCertificate); a warning when renewal
// keeps failing. The arithmetic is renewal.ts; one order is order.ts.
import type { X509Certificate } from 'node:crypto';
import { domainFiles, type ManagedDomain, type SticklerConfig, type TlsFiles } from '../config/model.ts';
import { createSelfSigned } from '../tls/selfsigned.ts';
import type { PendingChallenge } from './challenges.ts';
import { orderCertificate, type ChallengeSink } from './order.ts';
import { usableChallenges } from '../config/managed-domains.ts';
import { failing, renewalTime, retryDelay, type Validity } from './renewal.ts';
import { readDomain, writeDomain } from './store.ts';

/** What serves the certificates: a Stickler, or a WorkerGroup that tells every worker thread. */
export interface CertificateTarget {
  setChallenges(pending: readonly PendingChallenge[]): void;
  /** Told after every order, for the console and /metrics of every thread. */
  setRenewals(renewals: readonly DomainStatus[]): void;
  swapCertificate(vhost: number, files: TlsFiles): void | Promise<void>;
}

export interface DomainStatus {
  names: string[];
  /** The certificate served: when it ends (ms since the epoch), and whether it is the temporary self-signed one. */
  notAfter?: number;
  temporary: boolean;
  /** Failed attempts in a row, and the last one's reason. */
  failures: number;
  lastError?: string;
  /** When the next order starts; undefined in `manual` mode. */
  nextAttempt?: number;
  /** Failing long enough to warn about (renewal.ts `failing`). */
  failing: boolean;
}

/** The longest setTimeout Node keeps; a later renewal is planned again when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Makes sure every managed domain of `config` has a certificate and key in its store, writing a temporary
 * self-signed one (valid 7 days, for the domain's names) where there is none. Returns the problems, each with the
 * line of the domain that asked, and writes nothing else.
 */
export function prepareStore(config: SticklerConfig): string[] {
  const problems: string[] = [];
  for (const domain of config.managedDomains ?? []) {
    if (readDomain(domain.settings.storeDir, domain)) continue;
    try {
      const { cert, key } = createSelfSigned({ commonName: domain.names[0]!, altNames: { dns: domain.names }, days: 7 });
      writeDomain(domain.settings.storeDir, domain, cert, key);
    } catch (err) {
      problems.push(`${domain.source.file}:${domain.source.line}: cannot write a temporary certificate for ${domain.names[0]} in ${domain.settings.storeDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return problems;
}

interface Tracked {
  domain: ManagedDomain;
  status: DomainStatus;
  timer?: NodeJS.Timeout;
  running: boolean;
  /** The CA-issued certificate served; undefined while the temporary one is. */
  validity?: Validity;
}

export class Renewer {
  private config: SticklerConfig | undefined;
  private readonly domains = new Map<string, Tracked>();
  private readonly pending = new Map<string, PendingChallenge>();
  private readonly target: CertificateTarget;
  private readonly log: (line: string) => void;
  private readonly random: () => number;
  private readonly order: typeof orderCertificate;
  private stopped = false;

  constructor(target: CertificateTarget, log: (line: string) => void, options: { random?: () => number; order?: Renewer['order'] } = {}) {
    this.target = target;
    this.log = log;
    this.random = options.random ?? Math.random;
    this.order = options.order ?? orderCertificate;
  }

  /** Follows `config` (the start's, then each reload's): new domains are planned, dropped ones forgotten. */
  configure(config: SticklerConfig): void {
    this.config = config;
    const wanted = new Map((config.managedDomains ?? []).map((d) => [identity(d), d]));
    for (const [id, tracked] of this.domains) {
      if (wanted.has(id)) continue;
      clearTimeout(tracked.timer);
      this.domains.delete(id);
    }
    for (const [id, domain] of wanted) {
      const tracked = this.domains.get(id);
      if (tracked) {
        tracked.domain = domain;
        continue;
      }
      const fresh: Tracked = { domain, status: { names: domain.names, temporary: true, failures: 0, failing: false }, running: false };
      this.domains.set(id, fresh);
      this.plan(fresh, readDomain(domain.settings.storeDir, domain)?.leaf);
    }
  }

  status(): DomainStatus[] {
    return [...this.domains.values()].map((t) => ({ ...t.status }));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.domains.values()) clearTimeout(t.timer);
  }

  /** Reads the certificate served and sets the timer for the next order. */
  private plan(tracked: Tracked, leaf: X509Certificate | undefined, delay?: number): void {
    const { domain, status } = tracked;
    const validity = leaf && validityOf(leaf);
    status.temporary = !leaf || isSelfSigned(leaf) || !domain.names.every((n) => leaf.checkHost(n) !== undefined);
    if (validity) status.notAfter = validity.notAfter;
    tracked.validity = status.temporary ? undefined : validity;
    if (domain.settings.renewMode === 'manual') return void delete status.nextAttempt;
    const at = delay !== undefined ? Date.now() + delay : tracked.validity ? renewalTime(tracked.validity, domain.settings.renewWindow, this.random()) : Date.now();
    status.nextAttempt = at;
    clearTimeout(tracked.timer);
    const wait = Math.max(0, at - Date.now());
    tracked.timer = setTimeout(() => (wait > MAX_TIMER_MS ? this.plan(tracked, leaf) : void this.renew(tracked)), Math.min(wait, MAX_TIMER_MS));
    tracked.timer.unref();
  }

  private async renew(tracked: Tracked): Promise<void> {
    if (tracked.running || this.stopped) return;
    tracked.running = true;
    const { domain, status } = tracked;
    const name = domain.names[0]!;
    this.log(`acme: ordering a certificate for ${domain.names.join(', ')} from ${domain.settings.caUrl}${status.temporary ? '' : ' (renewal)'}`);
    try {
      const issued = await this.order(domain, usableChallenges(domain, this.config?.listeners ?? []), this.sink());
      if (this.stopped || this.domains.get(identity(domain)) !== tracked) return;
      writeDomain(domain.settings.storeDir, tracked.domain, issued.certificate, issued.key);
      await this.swap(tracked.domain);
      const leaf = readDomain(domain.settings.storeDir, tracked.domain)?.leaf;
      Object.assign(status, { failures: 0, failing: false });
      delete status.lastError;
      this.log(`acme: ${name}: new certificate served${leaf ? ` (serial ${leaf.serialNumber}, valid until ${leaf.validTo})` : ''}`);
      this.plan(tracked, leaf);
    } catch (err) {
      status.failures++;
      status.lastError = (err as Error).message;
      const validity = tracked.validity;
      const delay = retryDelay(status.failures, this.random(), validity && validity.notAfter - Date.now());
      status.failing = failing(status.failures, Date.now(), validity, domain.settings.renewWindow);
      this.log(`acme: ${status.failing ? 'warning: renewal keeps failing: ' : ''}${name}: order failed (attempt ${status.failures}): ${status.lastError}; next attempt in ${Math.round(delay / 1000)} s`);
      this.plan(tracked, readDomain(domain.settings.storeDir, tracked.domain)?.leaf, delay);
    } finally {
      tracked.running = false;
      this.target.setRenewals(this.status());
    }
  }

  /** Every virtual host whose certificate is the domain's takes the new one, on every thread. */
  private async swap(domain: ManagedDomain): Promise<void> {
    const vhosts = this.config?.virtualHosts ?? [];
    const files = domainFiles(domain.settings.storeDir, domain);
    for (const [i, vh] of vhosts.entries()) {
      if (vh.tls && vh.acme && identity(vh.acme) === identity(domain)) await this.target.swapCertificate(i, { ...vh.tls, ...files });
    }
  }

  /** Challenges of every order in flight, each change sent whole to the target. */
  private sink(): ChallengeSink {
    const key = (c: PendingChallenge) => `${c.type} ${c.name} ${c.token}`;
    const publish = () => this.target.setChallenges([...this.pending.values()]);
    return {
      add: (c) => {
        this.log(`acme: ${c.name}: answering ${c.type} while the CA validates`);
        this.pending.set(key(c), c);
        publish();
      },
      remove: (c) => void (this.pending.delete(key(c)), publish()),
    };
  }
}

/** A domain is the same across reloads while its names, CA and store are. */
function identity(d: ManagedDomain): string {
  return JSON.stringify([d.names, d.settings.caUrl, d.settings.storeDir]);
}

function validityOf(leaf: X509Certificate): Validity {
  return { notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) };
}

/** The temporary certificate is self-signed; no CA ever issues one. */
function isSelfSigned(leaf: X509Certificate): boolean {
  return leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey);
}
