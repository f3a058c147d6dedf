// DER written by hand, for tests that need encodings the openssl command will not make (string types, broken
// names, any tag): values, lengths and object identifiers.

/** X.690's definite length octets. */
export function lengthOctets(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return [0x80 | bytes.length, ...bytes];
}

/** A value: its identifier octet(s), then the length and content. */
export function tlv(identifier: number | number[], ...parts: Uint8Array[]): Buffer {
  const content = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([...[identifier].flat(), ...lengthOctets(content.length)]), content]);
}

/** Base-128 subidentifiers, high bit set on all but the last byte of each. */
export function subidentifiers(values: readonly bigint[]): number[] {
  return values.flatMap((v) => {
    const digits: number[] = [];
    for (let x = v; ; x >>= 7n) {
      digits.unshift(Number(x & 0x7fn));
      if (x < 128n) break;
    }
    return digits.map((d, i) => (i < digits.length - 1 ? d | 0x80 : d));
  });
}

/** An OBJECT IDENTIFIER value from its dotted form. */
export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(BigInt);
  return tlv(0x06, Buffer.from(subidentifiers([a! * 40n + b!, ...rest])));
}
