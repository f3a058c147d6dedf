// Shared state: where a group of Stickler instances keeps the manager's edits so that they behave as one (Redis).
import type { Source } from './model-units.ts';

/** Every key Stickler writes begins with this, so one Redis can serve several groups (native `key-prefix`). */
export const DEFAULT_KEY_PREFIX = 'stickler:';

/** How a group of instances takes a member out from their health verdicts (`shared-state.health-rule`). */
export const HEALTH_RULES = ['local', 'any', 'quorum'] as const;
export type HealthRule = (typeof HEALTH_RULES)[number];

export interface SharedStateConfig {
  /** The `shared-state` section, or undefined when `--shared-state` set it. */
  source?: Source;
  /** `redis://` or `rediss://` (TLS): host, port, database, and an optional user; never a password from a file. */
  url: string;
  keyPrefix: string;
  /** A file holding the password (AUTH), readable by its owner only. */
  passwordFile?: string;
  /** For `rediss://`: the CA to verify Redis with, and a client certificate when Redis asks for one. */
  tls?: { caFile?: string; certificateFile?: string; keyFile?: string };
  /** Sentinel addresses and the name of the primary they watch; with them the URL's host and port are not used. */
  sentinels?: Array<{ host: string; port: number }>;
  masterName?: string;
  /** This instance's name in the journal and the audit log; by default `host:pid`, which changes at each start. */
  instance?: string;
  /** Absent: `local`, each instance on its own checks, as without shared state. */
  healthRule?: HealthRule;
}

/**
 * What a reload says when `next` would change the shared state: the connection, the keys and the instance's name
 * are taken once at start (a group whose instances switched Redis one by one mid-flight would split in two), so
 * the running instance keeps them; undefined when nothing of it changes.
 */
export function sharedStateReloadWarning(running: SharedStateConfig | undefined, next: SharedStateConfig | undefined): string | undefined {
  const comparable = (c: SharedStateConfig | undefined) => (c === undefined ? 'none' : JSON.stringify({ ...c, source: undefined }));
  if (comparable(running) === comparable(next)) return undefined;
  const now = running === undefined ? 'goes on without shared state' : `stays on ${running.url} (key prefix ${running.keyPrefix})`;
  return `shared-state changes take effect at the next start; this instance ${now}`;
}
