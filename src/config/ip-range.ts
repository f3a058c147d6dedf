// IP addresses and ranges as Apache's access rules write them (APR apr_ipsubnet_create), as plain bytes.

export interface IpRange {
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  /** Leading bits that must match. */
  prefix: number;
}

/**
 * An address as 4 or 16 bytes; IPv4-mapped IPv6 (`::ffff:127.0.0.1`) becomes its IPv4 form so IPv4 rules apply
 * to clients of a dual-stack listener. A zone (`fe80::1%eth0`) is ignored. undefined when not an address.
 */
export function parseIp(text: string): Uint8Array | undefined {
  if (!text.includes(':')) return parseIpv4(text);
  const zone = text.indexOf('%');
  const v6 = parseIpv6(zone < 0 ? text : text.slice(0, zone));
  return v6 && isV4Mapped(v6) ? v6.slice(12) : v6;
}

/**
 * An access-rule address: `10.1.2.3`, a partial IPv4 address (`10.1` = 10.1.0.0/16, as `Allow from 10.1`),
 * `a.b.c.d/nn`, `a.b.c.d/m.m.m.m` (contiguous netmask), an IPv6 address or `addr/nn`. undefined when invalid.
 */
export function parseIpRange(spec: string): IpRange | undefined {
  const slash = spec.indexOf('/');
  if (slash < 0) return spec.includes(':') ? whole(parseIp(spec)) : parsePartialIpv4(spec);
  const bytes = parseIp(spec.slice(0, slash));
  if (bytes === undefined) return undefined;
  const mask = spec.slice(slash + 1);
  const written = spec.slice(0, slash);
  // A mapped IPv6 range was parsed to 4 bytes: its prefix counts the 96 mapped bits Stickler no longer holds.
  const shift = written.includes(':') && bytes.length === 4 ? 96 : 0;
  const prefix = /^[0-9]{1,3}$/.test(mask) ? Number(mask) - shift : netmaskPrefix(mask, bytes.length);
  if (prefix === undefined || prefix < 0 || prefix > bytes.length * 8) return undefined;
  return { bytes, prefix };
}

export function inRange(address: Uint8Array, range: IpRange): boolean {
  if (address.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.prefix; bit += 8) {
    const bits = Math.min(8, range.prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((address[bit / 8]! & mask) !== (range.bytes[bit / 8]! & mask)) return false;
  }
  return true;
}

const LOOPBACK: IpRange[] = [
  { bytes: Uint8Array.of(127, 0, 0, 0), prefix: 8 },
  { bytes: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), prefix: 128 },
];

export function isLoopback(address: Uint8Array): boolean {
  return LOOPBACK.some((range) => inRange(address, range));
}

function whole(bytes: Uint8Array | undefined): IpRange | undefined {
  return bytes && { bytes, prefix: bytes.length * 8 };
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  return octets(parts);
}

function parsePartialIpv4(text: string): IpRange | undefined {
  const parts = (text.endsWith('.') ? text.slice(0, -1) : text).split('.');
  if (parts.length > 4) return undefined;
  const given = octets(parts);
  if (given === undefined) return undefined;
  const bytes = new Uint8Array(4);
  bytes.set(given);
  return { bytes, prefix: given.length * 8 };
}

function octets(parts: string[]): Uint8Array | undefined {
  const bytes = new Uint8Array(parts.length);
  for (const [i, part] of parts.entries()) {
    if (!/^[0-9]{1,3}$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

function netmaskPrefix(mask: string, length: number): number | undefined {
  const bytes = length === 4 ? parseIpv4(mask) : undefined;
  if (bytes === undefined) return undefined;
  const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const prefix = Math.clz32(~value);
  const contiguous = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return value === contiguous ? prefix : undefined;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 2 ? total > 14 : total !== 16) return undefined;
  const bytes = new Uint8Array(16);
  bytes.set(head, 0);
  bytes.set(tail, 16 - tail.length);
  return bytes;
}

/** The bytes of colon-separated groups; the last group may be a dotted IPv4 address. */
function groups(text: string): number[] | undefined {
  if (text === '') return [];
  const bytes: number[] = [];
  const parts = text.split(':');
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      bytes.push(...v4);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      const value = parseInt(part, 16);
      bytes.push(value >> 8, value & 0xff);
    }
  }
  return bytes;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}
