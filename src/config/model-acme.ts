// Automatic certificates (ACME, RFC 8555) in the configuration model: the names a virtual host's certificate is
// ordered for, from which CA, how it is proved (challenges), where it is kept and when it is renewed. Apache's
// mod_md (`MDomain`, `MDCertificateAuthority`...) and the native `acme:` section both build it.
import type { Millis, Source } from './model-units.ts';

/** The challenge types Stickler answers itself; DNS-01 needs a DNS provider it has no way to drive. */
export const CHALLENGE_TYPES = ['http-01', 'tls-alpn-01'] as const;
export type ChallengeType = (typeof CHALLENGE_TYPES)[number];

/** Private key types (mod_md `MDPrivateKeys`): RSA of a size, or an EC curve Node signs with. */
export const KEY_TYPES = ['rsa2048', 'rsa3072', 'rsa4096', 'secp256r1', 'secp384r1'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/**
 * When renewal starts, before the certificate ends (mod_md `MDRenewWindow`): a duration, or a percentage of the
 * certificate's lifetime, which follows whatever lifetime the CA gives (90 days, 6 days...).
 */
export type RenewWindow = { kind: 'duration'; ms: Millis } | { kind: 'percent'; percent: number };

/** mod_md's `MDRenewMode`: `auto` orders what is missing or due; `always` also replaces certificates placed by hand; `manual` never orders. */
export const RENEW_MODES = ['auto', 'always', 'manual'] as const;
export type RenewMode = (typeof RENEW_MODES)[number];

/** Let's Encrypt's production directory, mod_md's default CA. */
export const DEFAULT_CA_URL = 'https://acme-v02.api.letsencrypt.org/directory';
/** mod_md's default window: a third of the lifetime (30 days of Let's Encrypt's 90). */
export const DEFAULT_RENEW_WINDOW: RenewWindow = { kind: 'percent', percent: 33 };

export interface AcmeSettings {
  /** The CA's ACME directory URL. */
  caUrl: string;
  /** A PEM bundle the CA's HTTPS is verified with instead of the system's (mod_md `MDCACertificateFile`). */
  caCertificateFile?: string;
  /** mailto: contact given to the CA; absent, the account has none. */
  contactEmail?: string;
  /** The CA's terms of service are accepted (mod_md `MDCertificateAgreement accepted`); without it no account is made. */
  agreementAccepted: boolean;
  /** Accounts, keys and certificates are kept here: the account key 0600, every key 0600. */
  storeDir: string;
  renewWindow: RenewWindow;
  /** Tried in this order; a CA that offers none of them cannot be used. */
  challenges: ChallengeType[];
  keyType: KeyType;
  renewMode: RenewMode;
  /**
   * The ports the CA reaches, mapped to those Stickler listens on (mod_md `MDPortMap http:8080 https:8443`): port 80
   * and 443 on the outside, anything behind a NAT. Absent: the CA's port is the port itself.
   */
  portMap: { http: number; https: number };
}

export interface ManagedDomain {
  source: Source;
  /** The certificate's names; the first is the domain's name in the store and in messages. */
  names: string[];
  settings: AcmeSettings;
}

/** The store's layout, one rule for the readers, --check and the runtime. */
export function domainFiles(storeDir: string, domain: Pick<ManagedDomain, 'names'>): { certificateFile: string; keyFile: string } {
  const dir = `${storeDir.replace(/\/+$/, '')}/domains/${domain.names[0]}`;
  return { certificateFile: `${dir}/pubcert.pem`, keyFile: `${dir}/privkey.pem` };
}

/** A name a certificate can be ordered for: a DNS name (no IP, no wildcard: wildcards need DNS-01). */
export function managedNameProblem(name: string): string | undefined {
  if (name.startsWith('*.')) return `"${name}" is a wildcard, which only DNS-01 can prove; expected a host name (HTTP-01 and TLS-ALPN-01 prove one host each)`;
  if (/^[0-9.]+$/.test(name) || name.includes(':')) return `"${name}" is an IP address; expected a DNS name`;
  if (name.length > 253 || !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name)) {
    return `"${name}" is not a DNS name; expected labels of letters, digits and hyphens separated by dots`;
  }
  return undefined;
}

/** A renew window as written: `33%`, or a duration in days (`30d`, mod_md's unit without one), hours or seconds. */
export function parseRenewWindow(text: string): RenewWindow | string {
  const percent = /^(\d{1,2}(?:\.\d+)?)%$/.exec(text);
  if (percent) {
    const value = Number(percent[1]);
    return value > 0 ? { kind: 'percent', percent: value } : `"${text}" is no window; expected a percentage between 0 and 100 (exclusive)`;
  }
  const duration = /^(\d+)(d|h|mi|s)?$/.exec(text);
  if (!duration) return `"${text}" is not a renew window; expected a percentage such as 33% or a duration such as 30d, 12h, 90mi or 3600s`;
  const unit = { d: 86_400_000, h: 3_600_000, mi: 60_000, s: 1000 }[duration[2] ?? 'd']!;
  const ms = Number(duration[1]) * unit;
  return ms > 0 ? { kind: 'duration', ms } : `"${text}" is no window; expected a duration above zero`;
}

export function formatRenewWindow(w: RenewWindow): string {
  if (w.kind === 'percent') return `${w.percent}%`;
  if (w.ms % 86_400_000 === 0) return `${w.ms / 86_400_000}d`;
  if (w.ms % 3_600_000 === 0) return `${w.ms / 3_600_000}h`;
  return `${Math.round(w.ms / 1000)}s`;
}

/** An ACME directory URL: HTTPS, as RFC 8555 6.1 requires. */
export function caUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL; expected the CA's ACME directory URL such as ${DEFAULT_CA_URL}`;
  }
  return url.protocol === 'https:' ? undefined : `"${text}" is not an https:// URL; ACME (RFC 8555) is served over HTTPS only`;
}

/** A contact address as mod_md takes it: `name@host`, with or without `mailto:`. */
export function contactEmailProblem(text: string): string | undefined {
  return /^(mailto:)?[^@\s]+@[^@\s]+$/.test(text) ? undefined : `"${text}" is not an e-mail address; expected one such as admin@example.org`;
}

/** Settings a domain has when nothing is said: mod_md's defaults, but for the store, which each format places. */
export function acmeDefaults(storeDir: string): AcmeSettings {
  return {
    caUrl: DEFAULT_CA_URL, agreementAccepted: false, storeDir, renewWindow: DEFAULT_RENEW_WINDOW,
    challenges: [...CHALLENGE_TYPES], keyType: 'rsa2048', renewMode: 'auto', portMap: { http: 80, https: 443 },
  };
}
