// Who may use the balancer manager: HTTP Basic against an htpasswd file (bcrypt entries only) or a configured API
// token, with failed logins rate-limited per client address. Decided from header values alone, as the request
// path's modules are: the server turns the decision into a response and enforces "non-loopback needs auth".

import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';

export interface Htpasswd {
  /** User name → bcrypt hash; on a duplicate the first line wins, as in Apache. */
  users: Map<string, string>;
  /** `file:line: what is wrong`; never contains a hash or a password. */
  errors: string[];
}

export interface ManagerAuthOptions {
  /** Basic authentication against these users; given, even empty, it turns authentication on. */
  htpasswd?: Map<string, string>;
  /** Bearer tokens; given, even empty, it turns authentication on. */
  tokens?: string[];
  realm?: string;
  /** Epoch ms; injectable so tests can move through the rate-limit window. */
  now?: () => number;
  /** Failed attempts from one address within `windowMs` after which it is refused (default 5). */
  maxFailures?: number;
  windowMs?: number;
  /** Addresses whose failures are remembered; the least recently failed are forgotten first (default 10 000). */
  maxTrackedIps?: number;
}

export type AuthMethod = 'basic' | 'token' | 'none';

export type AuthDecision =
  | { ok: true; user: string; method: AuthMethod }
  /** `reason` is for the log and safe to show: it never tells whether a user exists. */
  | { ok: false; status: 401 | 429; headers: Array<[string, string]>; reason: string };

const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const ONLY_BCRYPT = 'only bcrypt entries are accepted (htpasswd -B)';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an htpasswd file as Apache does (lines trimmed, blank lines and `#` comments skipped), but refuses every
 * scheme except bcrypt: MD5, SHA-1, crypt() and plain text are all cheap to brute-force from a leaked file.
 */
export function parseHtpasswd(text: string, file: string): Htpasswd {
  const users = new Map<string, string>();
  const firstLine = new Map<string, number>();
  const errors: string[] = [];
  // trim() also drops a byte order mark and the CR of CRLF files.
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${file}:${index + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      const what = colon < 0 ? "no ':'" : "empty user name before ':'";
      errors.push(`${at}: ${what}; expected user:hash, where ${ONLY_BCRYPT}`);
      continue;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT.test(hash)) {
      errors.push(`${at}: user ${JSON.stringify(user)} has ${describeHash(hash)}; ${ONLY_BCRYPT}`);
      continue;
    }
    const first = firstLine.get(user);
    if (first !== undefined) {
      errors.push(`${at}: user ${JSON.stringify(user)} is already defined at line ${first}; keep one of the two lines`);
      continue;
    }
    firstLine.set(user, index + 1);
    users.set(user, hash);
  }
  return { users, errors };
}

/** Names the scheme by well-known prefixes only: anything else may be a plain-text password, never to be echoed. */
function describeHash(hash: string): string {
  if (hash === '') return 'no hash';
  if (/^\$2[aby]\$/.test(hash)) return 'a malformed bcrypt hash (expected $2y$, a cost 04-31, $ and 53 characters)';
  if (hash.startsWith('$apr1$')) return 'an Apache MD5 ($apr1$) hash';
  if (hash.startsWith('{SHA}')) return 'a SHA-1 ({SHA}) hash';
  if (/^\$[156]\$/.test(hash)) return `a ${hash.slice(0, 3)} crypt hash`;
  return 'a crypt() hash or a plain-text password';
}

/** The htpasswd file, or why it could not be read (with the errno code, which says what to fix). */
export function loadHtpasswd(file: string): Htpasswd {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { users: new Map(), errors: [`${file}: cannot read the htpasswd file: ${code}`] };
  }
  return parseHtpasswd(text, file);
}

// The salt and checksum of a real hash: what matters is that comparing against it costs a full bcrypt run.
const DUMMY_TAIL = 'kjL1n81ofWDHT521rz/e7.ugatGyTST6iXdr8/dkewllsouz.9jgC';

/**
 * A hash for unknown users at the cost most entries use (the higher on a tie), so that an unknown user takes as
 * long as a wrong password and timing does not reveal who exists.
 */
function dummyHash(users: Map<string, string>): string {
  const counts = new Map<string, number>();
  for (const hash of users.values()) {
    const cost = BCRYPT.exec(hash)?.[1];
    if (cost !== undefined) counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let best = '10';
  let bestCount = 0;
  for (const [cost, count] of counts) {
    if (count > bestCount || (count === bestCount && cost > best)) [best, bestCount] = [cost, count];
  }
  return `$2b$${best}$${DUMMY_TAIL}`;
}

/** A quoted-string for an auth-param: quotes and backslashes escaped, control characters (header breakers) dropped. */
function quoted(value: string): string {
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/["\\]/g, '\\$&')}"`;
}

const sha256 = (value: string): Buffer => crypto.createHash('sha256').update(value, 'utf8').digest();

/**
 * Failures per client address in a sliding window: an address is refused once `maxFailures` of its failures fall
 * within the last `windowMs`, and only the newest `maxFailures` timestamps are kept, so memory stays bounded.
 */
class FailureLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxTrackedIps: number;

  constructor(maxFailures: number, windowMs: number, maxTrackedIps: number) {
    this.#maxFailures = maxFailures;
    this.#windowMs = windowMs;
    this.#maxTrackedIps = maxTrackedIps;
  }

  /** Milliseconds until `ip` may try again, 0 or less when it may now. */
  blockedFor(ip: string, now: number): number {
    const times = this.#failures.get(ip) ?? [];
    return times.length >= this.#maxFailures ? times[0]! + this.#windowMs - now : 0;
  }

  record(ip: string, now: number): void {
    const times = [...(this.#failures.get(ip) ?? []), now].slice(-this.#maxFailures);
    // Re-inserting keeps the map ordered by last failure, so the first key is the one to forget.
    this.#failures.delete(ip);
    this.#failures.set(ip, times);
    for (const oldest of this.#failures.keys()) {
      if (this.#failures.size <= this.#maxTrackedIps) break;
      this.#failures.delete(oldest);
    }
  }

  reset(ip: string): void {
    this.#failures.delete(ip);
  }
}

/**
 * Checks the `Authorization` header of a manager request. Every presented credential counts as a failure before
 * it is verified (and is cleared on success), so concurrent guesses from one address cannot get past the limit
 * and a refused address never costs a bcrypt run.
 */
export class ManagerAuth {
  readonly #users: Map<string, string> | undefined;
  readonly #tokenDigests: Buffer[] | undefined;
  readonly #dummyHash: string;
  readonly #challenge: [string, string];
  readonly #now: () => number;
  readonly #limiter: FailureLimiter;

  constructor(options: ManagerAuthOptions) {
    this.#users = options.htpasswd;
    this.#tokenDigests = options.tokens?.map(sha256);
    this.#dummyHash = dummyHash(options.htpasswd ?? new Map());
    const realm = quoted(options.realm ?? 'Stickler balancer manager');
    this.#challenge = ['WWW-Authenticate', this.#users ? `Basic realm=${realm}, charset="UTF-8"` : `Bearer realm=${realm}`];
    this.#now = options.now ?? Date.now;
    this.#limiter = new FailureLimiter(options.maxFailures ?? 5, options.windowMs ?? 60_000, options.maxTrackedIps ?? 10_000);
  }

  async check(authorization: string | undefined, clientIp: string): Promise<AuthDecision> {
    if (!this.#users && !this.#tokenDigests) return { ok: true, user: '-', method: 'none' };
    const waitMs = this.#limiter.blockedFor(clientIp, this.#now());
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      return { ok: false, status: 429, headers: [['Retry-After', String(seconds)]], reason: `too many failed logins; retry in ${seconds} s` };
    }
    const credentials = authorization?.trim() ?? '';
    if (credentials === '') return this.#refuse('no credentials');
    this.#limiter.record(clientIp, this.#now());
    const [, scheme = '', value = ''] = /^(\S+)\s+(\S+)$/.exec(credentials) ?? [];
    const decision =
      scheme.toLowerCase() === 'basic' && this.#users ? await this.#basic(this.#users, value)
      : scheme.toLowerCase() === 'bearer' && this.#tokenDigests ? this.#bearer(this.#tokenDigests, value)
      : this.#refuse(`expected ${this.#users ? 'Basic' : 'Bearer'} credentials`);
    if (decision.ok) this.#limiter.reset(clientIp);
    return decision;
  }

  async #basic(users: Map<string, string>, encoded: string): Promise<AuthDecision> {
    if (!BASE64.test(encoded)) return this.#refuse('malformed Basic credentials: not base64');
    let decoded: string;
    try {
      decoded = utf8.decode(Buffer.from(encoded, 'base64'));
    } catch {
      return this.#refuse('malformed Basic credentials: not UTF-8');
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return this.#refuse("malformed Basic credentials: no ':' between user and password");
    const user = decoded.slice(0, colon);
    const hash = users.get(user);
    let matches: boolean;
    try {
      matches = await bcrypt.compare(decoded.slice(colon + 1), hash ?? this.#dummyHash);
    } catch {
      // Only a hash that did not come through parseHtpasswd can make bcrypt throw: it matches nothing.
      matches = false;
    }
    return hash !== undefined && matches ? { ok: true, user, method: 'basic' } : this.#refuse('wrong user name or password');
  }

  /** Every token is compared, each in constant time on equal-length digests, so timing tells nothing about any. */
  #bearer(digests: Buffer[], token: string): AuthDecision {
    const presented = sha256(token);
    let found = -1;
    digests.forEach((digest, index) => {
      if (crypto.timingSafeEqual(digest, presented) && found < 0) found = index;
    });
    if (found < 0) return this.#refuse('wrong token');
    return { ok: true, user: digests.length > 1 ? `token#${found + 1}` : 'token', method: 'token' };
  }

  #refuse(reason: string): AuthDecision {
    return { ok: false, status: 401, headers: [this.#challenge], reason };
  }
}
