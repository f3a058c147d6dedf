// Access rules in the configuration model, as `<Location>` and `<Proxy>` sections write them.
import type { Source } from './model-units.ts';

/**
 * Access control, both Apache generations. `legacy` is mod_access_compat (Order/Allow/Deny), `require` is
 * mod_authz_host. Apache evaluates Require and ignores Order/Allow/Deny when both appear in one section.
 */
export type AccessRule =
  | { kind: 'legacy'; source: Source; order: 'deny,allow' | 'allow,deny'; allow: HostMatch[]; deny: HostMatch[] }
  | { kind: 'require'; source: Source; negate: boolean; match: 'all-granted' | 'all-denied' | 'local' | HostMatch };

export type HostMatch =
  | { kind: 'all' }
  | { kind: 'ip'; cidr: string }
  | { kind: 'host'; name: string };
