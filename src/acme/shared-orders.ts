// Automatic certificates in a group of instances sharing Redis: one instance orders a domain's certificate (a lock
// with an expiry, so an instance that dies mid-order frees it), the challenges it must answer are written where
// every instance reads them (the CA's HTTP-01 request may reach any of them), and the certificate it is issued, with
// its key, is left for the others to load. The key in Redis is the tradeoff: Redis must be as private as the store
// (a password, TLS, a private network), as a shared mod_md store directory must be.
import type { RedisLink } from '../shared/connection.ts';
import type { SharedKeys } from '../shared/keys.ts';
import { readFields } from '../shared/journal.ts';
import type { PendingChallenge } from './challenges.ts';

/** An order that takes longer than this (the CA down, a network cut) frees its domain for another instance. */
export const LOCK_MS = 10 * 60 * 1000;
/** Pending challenges vanish this long after the last one was written, should their orderer die. */
const CHALLENGES_TTL_MS = LOCK_MS;

/** Deletes the lock only if this instance still holds it: one that expired and was taken by another stays. */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export interface SharedCertificate {
  certificate: string;
  key: string;
}

export class SharedOrders {
  private readonly link: RedisLink;
  private readonly keys: SharedKeys;
  readonly instance: string;

  constructor(link: RedisLink, keys: SharedKeys, instance: string) {
    this.link = link;
    this.keys = keys;
    this.instance = instance;
  }

  /** Takes the domain's order for this instance; false when another instance holds it. */
  async lock(name: string): Promise<boolean> {
    return (await this.link.sendCommand(['SET', this.keys.acmeLock(name), this.instance, 'NX', 'PX', String(LOCK_MS)])) !== null;
  }

  /** The instance ordering the domain now, if any. */
  async holder(name: string): Promise<string | undefined> {
    const value = await this.link.sendCommand(['GET', this.keys.acmeLock(name)]);
    return typeof value === 'string' ? value : undefined;
  }

  async release(name: string): Promise<void> {
    await this.link.sendCommand(['EVAL', RELEASE, '1', this.keys.acmeLock(name), this.instance]);
  }

  async publish(name: string, issued: SharedCertificate): Promise<void> {
    await this.link.sendCommand(['HSET', this.keys.acmeCertificate(name), 'certificate', issued.certificate, 'key', issued.key]);
    await this.link.sendCommand(['INCR', this.keys.acmePublished]);
  }

  /** What the others did since the last look: the challenges pending in the group, and how many certificates were left so far. */
  async look(): Promise<{ challenges: PendingChallenge[]; published: string }> {
    const published = await this.link.sendCommand(['GET', this.keys.acmePublished]);
    return { challenges: await this.challenges(), published: typeof published === 'string' ? published : '0' };
  }

  async certificate(name: string): Promise<SharedCertificate | undefined> {
    const [certificate, key] = (await this.link.sendCommand(['HMGET', this.keys.acmeCertificate(name), 'certificate', 'key'])) as unknown[];
    return typeof certificate === 'string' && typeof key === 'string' ? { certificate, key } : undefined;
  }

  async addChallenge(c: PendingChallenge): Promise<void> {
    await this.link.sendCommand(['HSET', this.keys.acmeChallenges, field(c), JSON.stringify(c)]);
    await this.link.sendCommand(['PEXPIRE', this.keys.acmeChallenges, String(CHALLENGES_TTL_MS)]);
  }

  async removeChallenge(c: PendingChallenge): Promise<void> {
    await this.link.sendCommand(['HDEL', this.keys.acmeChallenges, field(c)]);
  }

  /** Every challenge pending in the group; a field that is not one (written by something else) is left out. */
  async challenges(): Promise<PendingChallenge[]> {
    return hashValues(await this.link.sendCommand(['HGETALL', this.keys.acmeChallenges])).flatMap((v) => {
      try {
        const c = JSON.parse(String(v)) as Partial<PendingChallenge>;
        return typeof c.name === 'string' && typeof c.token === 'string' && typeof c.keyAuthorization === 'string' && (c.type === 'http-01' || c.type === 'tls-alpn-01')
          ? [{ type: c.type, name: c.name, token: c.token, keyAuthorization: c.keyAuthorization }] : [];
      } catch {
        return [];
      }
    });
  }
}

/** A hash's values from HGETALL; a reply not text fields and values gives none. */
function hashValues(raw: unknown): string[] {
  const fields = readFields(raw);
  return typeof fields === 'string' ? [] : Object.values(fields);
}

function field(c: PendingChallenge): string {
  return `${c.type} ${c.name} ${c.token}`;
}
