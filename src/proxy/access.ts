// Access control of one configuration section: mod_authz_host (`Require`) and mod_access_compat
// (`Order`/`Allow`/`Deny`), decided from the client address alone.

import type { AccessRule, HostMatch } from '../config/model.ts';
import { inRange, isLoopback, parseIp, parseIpRange } from '../config/ip-range.ts';

type RequireRule = Extract<AccessRule, { kind: 'require' }>;
type LegacyRule = Extract<AccessRule, { kind: 'legacy' }>;

/**
 * Whether `clientIp` may pass the rules of one section. No rules: allowed. When the section has any `Require`,
 * Apache ignores its Order/Allow/Deny, and so does this. Require lines combine as Apache's implicit
 * <RequireAny> for the positive ones, while any matching `Require not` denies (Apache only accepts negations
 * inside <RequireAll>, where that is their effect); a section with only negations grants nothing, as in Apache.
 *
 * Deliberate limits: `Require host` / `Allow from <hostname>` never match, because they would need a reverse DNS
 * lookup on the request path; `Require local` means loopback (127.0.0.0/8, ::1), not also the server's own
 * non-loopback addresses as in Apache. A client address that does not parse matches no address rule.
 */
export function isAllowed(rules: AccessRule[], clientIp: string): boolean {
  if (rules.length === 0) return true;
  let fixed = fixedAnswer.get(rules);
  if (fixed === undefined) {
    fixed = rules.every(addressFree) ? decide(rules, undefined) : 'by-address';
    fixedAnswer.set(rules, fixed);
  }
  return fixed === 'by-address' ? decide(rules, parseIp(clientIp)) : fixed;
}

/**
 * Per section, its answer when no rule looks at the address (`Allow from all`, `Require all granted`), so the
 * common case parses no address per request; sections are replaced, never changed, on reload.
 */
const fixedAnswer = new WeakMap<AccessRule[], boolean | 'by-address'>();

function addressFree(rule: AccessRule): boolean {
  const free = (m: HostMatch) => m.kind !== 'ip';
  if (rule.kind === 'require') return rule.match === 'all-granted' || rule.match === 'all-denied' || (typeof rule.match === 'object' && free(rule.match));
  return rule.allow.every(free) && rule.deny.every(free);
}

function decide(rules: AccessRule[], address: Uint8Array | undefined): boolean {
  const requires = rules.filter((r): r is RequireRule => r.kind === 'require');
  if (requires.length > 0) {
    const matching = requires.filter((r) => requireMatches(r, address));
    return matching.some((r) => !r.negate) && !matching.some((r) => r.negate);
  }
  return rules.every((r) => r.kind !== 'legacy' || legacyAllows(r, address));
}

function requireMatches(rule: RequireRule, address: Uint8Array | undefined): boolean {
  switch (rule.match) {
    case 'all-granted':
      return true;
    case 'all-denied':
      return false;
    case 'local':
      return address !== undefined && isLoopback(address);
    default:
      return hostMatches(rule.match, address);
  }
}

/** mod_access_compat: `deny,allow` starts allowed and Allow overrides Deny; `allow,deny` starts denied and Deny wins. */
function legacyAllows(rule: LegacyRule, address: Uint8Array | undefined): boolean {
  const allowed = rule.allow.some((m) => hostMatches(m, address));
  const denied = rule.deny.some((m) => hostMatches(m, address));
  return rule.order === 'deny,allow' ? allowed || !denied : allowed && !denied;
}

function hostMatches(match: HostMatch, address: Uint8Array | undefined): boolean {
  switch (match.kind) {
    case 'all':
      return true;
    case 'host':
      return false;
    case 'ip': {
      const range = parseIpRange(match.cidr);
      return address !== undefined && range !== undefined && inRange(address, range);
    }
  }
}
