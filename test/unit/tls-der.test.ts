// The DER reader under the client-certificate variables: whatever tree of values is encoded reads back as that tree,
// object identifiers and integers read back as the numbers encoded, and bytes that are not DER read as nothing
// rather than throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { childrenOf, integerValue, oidText, readOne, readTlv, type Tlv } from '../../src/tls/der.ts';
import { subidentifiers, tlv } from '../support/der.ts';

interface Node {
  cls: number;
  tag: number;
  /** Primitive content, or the children of a constructed value. */
  body: Uint8Array | Node[];
}

function identifier(cls: number, constructed: boolean, tag: number): number[] {
  const first = (cls << 6) | (constructed ? 0x20 : 0);
  if (tag < 31) return [first | tag];
  const digits: number[] = [];
  for (let v = tag; v > 0; v = Math.floor(v / 128)) digits.unshift(v % 128);
  return [first | 0x1f, ...digits.map((d, i) => (i < digits.length - 1 ? d | 0x80 : d))];
}

function encode(node: Node): Buffer {
  const constructed = Array.isArray(node.body);
  const content = constructed ? Buffer.concat((node.body as Node[]).map(encode)) : Buffer.from(node.body as Uint8Array);
  return tlv(identifier(node.cls, constructed, node.tag), content);
}

/** `node` with its contents as plain Uint8Arrays, as decode gives them. */
function normal(node: Node): Node {
  return { cls: node.cls, tag: node.tag, body: Array.isArray(node.body) ? node.body.map(normal) : new Uint8Array(node.body) };
}

function decode(tlv: Tlv): Node {
  return { cls: tlv.cls, tag: tlv.tag, body: tlv.constructed ? childrenOf(tlv)!.map(decode) : new Uint8Array(tlv.content) };
}

const tree: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.record({
    cls: fc.integer({ min: 0, max: 3 }),
    tag: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 31, max: 100_000 })),
    body: fc.oneof({ depthSize: 'small' }, fc.uint8Array({ maxLength: 300 }), fc.array(tie('node'), { maxLength: 4 })),
  }),
})).node;

test('property: any tree of values reads back as itself', () => {
  fc.assert(fc.property(tree, (node) => {
    const bytes = encode(node);
    const tlv = readOne(bytes);
    assert.ok(tlv !== undefined);
    assert.deepEqual(decode(tlv), normal(node));
    // One byte short is never a value, and one byte more is not exactly one.
    assert.equal(readOne(bytes.subarray(0, bytes.length - 1)), undefined);
    assert.equal(readOne(Buffer.concat([bytes, Buffer.from([0])])), undefined);
  }), { numRuns: 500 });
});

test('property: object identifiers and integers read back as the numbers encoded', () => {
  const arc = fc.bigInt({ min: 0n, max: (1n << 70n) - 1n });
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 }), fc.bigInt({ min: 0n, max: 39n }), fc.array(arc, { maxLength: 6 }), (first, second, rest) => {
    const arcs = [BigInt(first) * 40n + second, ...rest];
    assert.equal(oidText(Uint8Array.from(subidentifiers(arcs))), [first, second, ...rest].join('.').slice(0, 79));
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }), (n) => {
    let hex = (n < 0n ? (1n << BigInt(8 * Math.ceil((n.toString(16).length + 1) / 2))) + n : n).toString(16);
    if (hex.length % 2) hex = '0' + hex;
    // The shortest two's complement: a sign byte where the top bit would say otherwise.
    const bytes = Buffer.from(hex, 'hex');
    const sign = n < 0n ? 0xff : 0x00;
    const content = (bytes[0]! & 0x80) === (n < 0n ? 0x80 : 0) ? bytes : Buffer.concat([Buffer.from([sign]), bytes]);
    assert.equal(integerValue(content), n);
  }), { numRuns: 500 });
});

test('what is not DER: indefinite lengths, lengths past the end, broken identifiers, are nothing', () => {
  assert.equal(readOne(Buffer.from([0x30, 0x80, 0x00, 0x00])), undefined);
  assert.equal(readOne(Buffer.from([0x04, 0x05, 0x01])), undefined);
  assert.equal(readOne(Buffer.from([0x1f, 0x81])), undefined);
  assert.equal(readOne(Buffer.from([0x04, 0x85, 0xff, 0xff, 0xff, 0xff, 0xff])), undefined);
  assert.equal(readOne(Buffer.alloc(0)), undefined);
  assert.equal(childrenOf(readOne(Buffer.from([0x04, 0x01, 0x30]))), undefined);
  assert.equal(childrenOf(readOne(Buffer.from([0x30, 0x02, 0x04, 0x05]))), undefined);
  assert.equal(oidText(Uint8Array.from([0x2a, 0x80, 0x01])), undefined);
  assert.equal(oidText(Uint8Array.from([0x2a, 0x83])), undefined);
  assert.equal(oidText(new Uint8Array(0)), undefined);
  assert.equal(integerValue(new Uint8Array(0)), undefined);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (bytes, at) => {
    readTlv(bytes, at);
    const tlv = readOne(bytes);
    if (tlv?.constructed) childrenOf(tlv);
  }), { numRuns: 2000 });
});
