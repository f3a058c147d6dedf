// Access control inside <Proxy> and <Location>: mod_access_compat (Order/Allow/Deny, one legacy rule per section)
// and mod_authz_host (Require all|ip|host|local, with `not`).
import { isIPv4, isIPv6 } from 'node:net';
import type { AccessRule, HostMatch, Source } from '../model.ts';
import type { DirectiveNode } from './parse.ts';
import type { Report } from './report.ts';

type Legacy = Extract<AccessRule, { kind: 'legacy' }>;

/** Accumulates the access directives of one section, in order. */
export class AccessBuilder {
  readonly #rules: AccessRule[] = [];
  #legacy: Legacy | undefined;
  readonly #report: Report;

  constructor(report: Report) {
    this.#report = report;
  }

  /** Where `Require valid-user` was given, if it was. */
  validUser: Source | undefined;

  rules(): AccessRule[] {
    return this.#rules;
  }

  add(node: DirectiveNode): void {
    if (node.name === 'Require') this.#require(node);
    else if (node.name === 'Order') this.#order(node);
    else this.#allowDeny(node);
  }

  #legacyRule(source: Source): Legacy {
    if (this.#legacy === undefined) {
      // mod_access_compat's default order is Deny,Allow.
      this.#legacy = { kind: 'legacy', source, order: 'deny,allow', allow: [], deny: [] };
      this.#rules.push(this.#legacy);
    }
    return this.#legacy;
  }

  #order(node: DirectiveNode): void {
    const value = (node.args[0] ?? '').toLowerCase();
    if (node.args.length !== 1 || !['deny,allow', 'allow,deny', 'mutual-failure'].includes(value)) {
      this.#report.error(node.source, 'Order', `"${node.args.join(' ')}" is not an order; expected Deny,Allow or Allow,Deny (no spaces)`);
      return;
    }
    // httpd documents Mutual-failure as equivalent to Allow,Deny.
    this.#legacyRule(node.source).order = value === 'deny,allow' ? 'deny,allow' : 'allow,deny';
  }

  #allowDeny(node: DirectiveNode): void {
    const [from, ...hosts] = node.args;
    if (from?.toLowerCase() !== 'from' || hosts.length === 0) {
      this.#report.error(node.source, node.name, `expected "${node.name} from" followed by all, addresses or host names`);
      return;
    }
    const matches: HostMatch[] = [];
    for (const h of hosts) {
      if (h.toLowerCase().startsWith('env=')) {
        this.#report.error(node.source, node.name, `"${h}": environment-variable access rules are not supported by Stickler; expected all, an address or a host name`);
        continue;
      }
      matches.push(h.toLowerCase() === 'all' ? { kind: 'all' } : (ipMatch(h) ?? { kind: 'host', name: h }));
    }
    const rule = this.#legacyRule(node.source);
    (node.name === 'Allow' ? rule.allow : rule.deny).push(...matches);
  }

  #require(node: DirectiveNode): void {
    const negate = node.args[0]?.toLowerCase() === 'not';
    const [provider = '', ...rest] = negate ? node.args.slice(1) : node.args;
    const source = node.source;
    const push = (match: Extract<AccessRule, { kind: 'require' }>['match']): void => {
      this.#rules.push({ kind: 'require', source, negate, match });
    };
    switch (provider.toLowerCase()) {
      case 'valid-user':
        // Authentication, not an address rule: the location then needs AuthUserFile (see translate.ts).
        this.validUser = source;
        return;
      case 'all': {
        const what = rest.join(' ').toLowerCase();
        if (what === 'granted') push('all-granted');
        else if (what === 'denied') push('all-denied');
        else this.#report.error(source, 'Require', `"Require all ${rest.join(' ')}" is not valid; expected Require all granted or Require all denied`);
        return;
      }
      case 'local':
        push('local');
        return;
      case 'ip':
      case 'host':
        if (rest.length === 0) {
          this.#report.error(source, 'Require', `Require ${provider} needs at least one ${provider === 'ip' ? 'address' : 'host name'}`);
          return;
        }
        for (const value of rest) {
          if (provider.toLowerCase() === 'host') {
            push({ kind: 'host', name: value });
            continue;
          }
          const ip = ipMatch(value);
          if (ip === undefined) {
            this.#report.error(source, 'Require', `"${value}" is not an IP address or network; expected forms like 10.1.2.3, 10.1, 10.0.0.0/8, 10.0.0.0/255.0.0.0 or 2001:db8::/32`);
          } else push(ip);
        }
        return;
    }
    this.#report.error(source, 'Require', `"Require ${node.args.join(' ')}" is not supported by Stickler; expected Require [not] all granted|denied, ip, host, local, or valid-user`);
  }
}

/** httpd's address forms: full or partial IPv4, address/bits, address/netmask, IPv6 with optional /bits. */
export function ipMatch(text: string): HostMatch | undefined {
  const [address = '', mask, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  if (isIPv6(address)) {
    const bits = mask === undefined ? 128 : prefixBits(mask, 128);
    return bits === undefined ? undefined : { kind: 'ip', cidr: `${address}/${bits}` };
  }
  const octets = address.replace(/\.$/, '').split('.');
  if (octets.length > 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) return undefined;
  if (octets.length < 4 && mask !== undefined) return undefined;
  const full = [...octets, '0', '0', '0'].slice(0, 4).join('.');
  let bits: number | undefined = octets.length * 8;
  if (mask !== undefined) bits = isIPv4(mask) ? netmaskBits(mask) : prefixBits(mask, 32);
  return bits === undefined ? undefined : { kind: 'ip', cidr: `${full}/${bits}` };
}

function prefixBits(text: string, max: number): number | undefined {
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

function netmaskBits(mask: string): number | undefined {
  const value = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const binary = value.toString(2).padStart(32, '0');
  return /^1*0*$/.test(binary) ? binary.indexOf('0') === -1 ? 32 : binary.indexOf('0') : undefined;
}
