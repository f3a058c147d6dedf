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
