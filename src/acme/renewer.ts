// The managed domains' lifecycle in the thread that orders (the main thread): a temporary self-signed certificate
// where the store has none, so the TLS port can start (as mod_md does); an order at once for it, and for every
// domain a renewal inside its window, with jitter; retries with backoff; the new certificate written to the store
// and swapped in on every thread with no restart (Stickler/WorkerGroup.swapManagedCertificate); a warning when renewal
// keeps failing. The arithmetic is renewal.ts; one order is order.ts.
import { printable } from '../log/printable.ts';
import { X509Certificate } from 'node:crypto';
import type { ManagedDomain, SticklerConfig } from '../config/model.ts';
import { createSelfSigned } from '../tls/selfsigned.ts';
import type { PendingChallenge } from './challenges.ts';
import { orderCertificate, type ChallengeSink } from './order.ts';
import { managedDomainIdentity as identity, usableChallenges } from '../config/managed-domains.ts';
import { failing, renewalTime, retryDelay, type Validity } from './renewal.ts';
import { readDomain, writeDomain, type StoreOwner } from './store.ts';
import { LOCK_MS, type SharedOrders } from './shared-orders.ts';

/** What serves the certificates: a Stickler, or a WorkerGroup that tells every worker thread. */
export interface CertificateTarget {
  setChallenges(pending: readonly PendingChallenge[]): void;
  /** Told after every order, for the console and /metrics of every thread. */
  setRenewals(renewals: readonly DomainStatus[]): void;
  /**
   * Serves the domain's certificate, just written to the store, on every virtual host that takes it in the
   * configuration running at that moment (config/managed-domains.ts managedHosts); how many.
   */
  swapManagedCertificate(domain: string): number | Promise<number>;
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
 * line of the domain that asked, and writes nothing else. `owner`: root writes it for the account it will serve as.
 */
export function prepareStore(config: SticklerConfig, owner?: StoreOwner): string[] {
  const problems: string[] = [];
  for (const domain of config.managedDomains ?? []) {
    if (readDomain(domain.settings.storeDir, domain)) continue;
    try {
      const { cert, key } = createSelfSigned({ commonName: domain.names[0]!, altNames: { dns: domain.names }, days: 7 });
      writeDomain(domain.settings.storeDir, domain, cert, key, owner);
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
  /** With shared state: the group's lock, challenges and certificates (shared-orders.ts). */
  private readonly shared: SharedOrders | undefined;
  /** The group's challenges as last read, and its count of certificates left, to see a new one. */
  private groupChallenges: PendingChallenge[] = [];
  private published: string | undefined;
  private looking: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(target: CertificateTarget, log: (line: string) => void, options: { random?: () => number; order?: Renewer['order']; shared?: SharedOrders } = {}) {
    this.target = target;
    this.log = log;
    this.random = options.random ?? Math.random;
    this.order = options.order ?? orderCertificate;
    this.shared = options.shared;
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
    if (this.shared && this.domains.size > 0 && !this.looking) this.lookAtGroup(this.shared);
    // Not only after an order: one may be weeks away (or never, in manual mode), and a dropped domain must go.
    this.target.setRenewals(this.status());
  }

  /**
   * With shared state, every LOOK_MS: the group's challenges join this instance's own (the CA may ask any instance),
   * and a certificate another instance left is loaded.
   */
  private lookAtGroup(shared: SharedOrders): void {
    const again = () => {
      if (!this.stopped) this.looking = setTimeout(() => this.lookAtGroup(shared), LOOK_MS).unref();
    };
    shared.look().then(async ({ challenges, published }) => {
      if (JSON.stringify(challenges) !== JSON.stringify(this.groupChallenges)) {
        const mine = [...this.pending.values()].map((c) => c.token);
        for (const c of challenges) {
          if (!mine.includes(c.token) && !this.groupChallenges.some((g) => g.token === c.token)) this.log(`acme: ${c.name}: answering ${c.type} for another instance's order`);
        }
        this.groupChallenges = challenges;
        this.publish();
      }
      const changed = this.published !== undefined && published !== this.published;
      this.published = published;
      if (changed) for (const tracked of this.domains.values()) if (!tracked.running) await this.adopt(tracked, shared);
    }).catch(() => {
      // Redis away: the shared state's own connection says so; this instance keeps its own challenges and certificates.
    }).finally(again);
  }

  /** Loads the certificate the group has for the domain when it ends later than the one served; whether it did. */
  private async adopt(tracked: Tracked, shared: SharedOrders): Promise<boolean> {
    const { domain, status } = tracked;
    const theirs = await shared.certificate(domain.names[0]!);
    const leaf = theirs && parseLeaf(theirs.certificate);
    if (!theirs || !leaf || isSelfSigned(leaf) || (!status.temporary && Date.parse(leaf.validTo) <= (status.notAfter ?? 0))) return false;
    await this.install(tracked, theirs.certificate, theirs.key, 'loaded the certificate another instance was issued');
    return true;
  }

  /** Stores and serves a certificate, then plans its renewal. */
  private async install(tracked: Tracked, certificate: string, key: string, how: string): Promise<void> {
    const { domain, status } = tracked;
    writeDomain(domain.settings.storeDir, domain, certificate, key);
    if ((await this.target.swapManagedCertificate(identity(domain))) === 0) this.log(`acme: ${domain.names[0]}: no virtual host serves it any more; the certificate is kept in the store`);
    const leaf = readDomain(domain.settings.storeDir, domain)?.leaf;
    Object.assign(status, { failures: 0, failing: false });
    delete status.lastError;
    this.log(`acme: ${domain.names[0]}: ${how}${leaf ? ` (serial ${leaf.serialNumber}, valid until ${leaf.validTo})` : ''}`);
    this.plan(tracked, leaf);
    this.target.setRenewals(this.status());
  }

  status(): DomainStatus[] {
    return [...this.domains.values()].map((t) => ({ ...t.status }));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.looking);
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
    const shared = this.shared;
    let locked = false;
    try {
      if (shared) {
        // Another instance may have renewed it already, or be ordering it now: then its certificate is loaded.
        if (await this.adopt(tracked, shared)) return;
        locked = await shared.lock(name);
        if (!locked) {
          this.log(`acme: ${name}: instance ${(await shared.holder(name)) ?? 'another'} is ordering it; this one loads the certificate when it is issued`);
          return this.plan(tracked, readDomain(domain.settings.storeDir, domain)?.leaf, LOCK_MS);
        }
      }
      this.log(`acme: ordering a certificate for ${domain.names.join(', ')} from ${domain.settings.caUrl}${status.temporary ? '' : ' (renewal)'}`);
      const issued = await this.order(domain, usableChallenges(domain, this.config?.listeners ?? []), this.sink());
      if (this.stopped || this.domains.get(identity(domain)) !== tracked) return;
      await this.install(tracked, issued.certificate, issued.key, 'new certificate served');
      await shared?.publish(name, issued);
    } catch (err) {
      status.failures++;
      // The CA's words: acme-client strips only line feeds, and the log and console show them.
      status.lastError = printable((err as Error).message);
      const validity = tracked.validity;
      const delay = retryDelay(status.failures, this.random(), validity && validity.notAfter - Date.now());
      status.failing = failing(status.failures, Date.now(), validity, domain.settings.renewWindow);
      this.log(`acme: ${status.failing ? 'warning: renewal keeps failing: ' : ''}${name}: order failed (attempt ${status.failures}): ${status.lastError}; next attempt in ${Math.round(delay / 1000)} s`);
      this.plan(tracked, readDomain(domain.settings.storeDir, tracked.domain)?.leaf, delay);
    } finally {
      tracked.running = false;
      if (locked) await shared?.release(name).catch(() => {});
      this.target.setRenewals(this.status());
    }
  }

  /** Challenges of every order in flight, each change sent whole to the target. */
  private sink(): ChallengeSink {
    const key = (c: PendingChallenge) => `${c.type} ${c.name} ${c.token}`;
    const shared = this.shared;
    return {
      add: async (c) => {
        this.log(`acme: ${c.name}: answering ${c.type} while the CA validates`);
        this.pending.set(key(c), c);
        this.publish();
        if (!shared) return;
        await shared.addChallenge(c);
        // Every instance looks every LOOK_MS: the CA is told to validate once all of them can answer.
        await new Promise((resolve) => setTimeout(resolve, 4 * LOOK_MS));
      },
      remove: async (c) => {
        this.pending.delete(key(c));
        this.publish();
        await shared?.removeChallenge(c);
      },
    };
  }

  /** This instance's challenges and the group's, to every thread. */
  private publish(): void {
    const mine = [...this.pending.values()];
    this.target.setChallenges([...mine, ...this.groupChallenges.filter((c) => !mine.some((m) => m.token === c.token))]);
  }
}

/** How often an instance of a group reads the group's challenges and new certificates. */
const LOOK_MS = 250;

function parseLeaf(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function validityOf(leaf: X509Certificate): Validity {
  return { notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) };
}

/** The temporary certificate is self-signed; no CA ever issues one. */
function isSelfSigned(leaf: X509Certificate): boolean {
  return leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey);
}
