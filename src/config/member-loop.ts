// A member that is one of Stickler's own listeners. Requests sent there come back in through Stickler itself,
// and through the manager's listener they arrive from 127.0.0.1: a remote client would get past `Require local`.
// One check for both configuration readers and the manager's add-member, on addresses as a connect would reach
// them: literal IPs in every form the URL parser takes (127.1, [::ffff:7f00:1]), `localhost`, and the names
// this machine resolves without DNS (its /etc/hosts and its own host name). A name only DNS knows is not
// resolved here: the check stays synchronous and bounded.
import { isIP } from 'node:net';

export interface OwnListener {
  /** As bound or configured: `0.0.0.0` and `::` mean every address of the machine. */
  host: string;
  /** 0 (a free port chosen when binding) is not known yet and never matches. */
  port: number;
}

/** What reaches this machine, read once by the caller (see this-machine.ts). */
export interface ThisMachine {
  /** Every interface address (loopback included). */
  addresses: readonly string[];
  /** Names resolved without DNS, lower case, with their addresses. */
  names: ReadonlyMap<string, readonly string[]>;
}

const LOOPBACK = ['127.0.0.1', '::1'];

/** The first of `listeners` that `url` would reach, or undefined. A URL that does not parse reaches none. */
export function memberLoop(url: string, listeners: readonly OwnListener[], machine: ThisMachine): OwnListener | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const reached = addressesOf(target.hostname, machine);
  if (reached.length === 0) return undefined;
  const local = new Set([...LOOPBACK, ...machine.addresses.map(canonicalAddress)]);
  return listeners.find((l) => {
    if (l.port === 0 || l.port !== port) return false;
    if (isUnspecified(canonicalAddress(l.host)) || l.host === '*') return reached.some((a) => isUnspecified(a) || isLoopback(a) || local.has(a));
    const bound = addressesOf(l.host, machine);
    // Linux connects to 0.0.0.0 or :: as to the machine itself.
    return reached.some((a) => bound.includes(a) || (isUnspecified(a) && bound.some((b) => isLoopback(b) || local.has(b))));
  });
}

/** Why `url` may not be a member, naming the listener it would reach; undefined when it reaches none. */
export function memberLoopProblem(url: string, listeners: readonly OwnListener[], machine: ThisMachine): string | undefined {
  const listener = memberLoop(url, listeners, machine);
  if (listener === undefined) return undefined;
  const at = isIP(listener.host) === 6 ? `[${listener.host}]:${listener.port}` : `${listener.host}:${listener.port}`;
  return `${url} is Stickler's own listener ${at}: requests would loop back into Stickler, and through the manager's listener arrive from this machine, past "Require local"; expected the address of another server`;
}

/** The addresses a host name or literal stands for, canonical; [] when only DNS could tell. */
function addressesOf(host: string, machine: ThisMachine): string[] {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (isIP(bare) !== 0) return [canonicalAddress(bare)];
  // RFC 6761 §6.3: localhost and every name under it are the loopback.
  const names = machine.names.get(bare) ?? [];
  const loopback = bare === 'localhost' || bare.endsWith('.localhost') ? LOOPBACK : [];
  return [...loopback, ...names.map(canonicalAddress)];
}

/**
 * One spelling per address, so comparing strings compares addresses: the URL parser's (IPv6 compressed, IPv4
 * from any inet_aton form), and an IPv4-mapped IPv6 address as the IPv4 address it reaches.
 */
export function canonicalAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '');
  let canonical: string;
  try {
    canonical = new URL(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return bare.toLowerCase();
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped === null) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
