// The frame scanner tells when an HTTP/2 client owes the rest of something that is not a DATA payload: the
// preface, a frame header, a control frame, a header block until its END_HEADERS. Split anywhere, the bytes must
// give the same answer at every boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameScanner } from '../../src/http2/frame-scanner.ts';
import { FLAG, FRAME, frame } from '../support/h2-raw.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function owingAfter(...chunks: Buffer[]): boolean {
  const scanner = new FrameScanner();
  for (const c of chunks) scanner.push(c);
  return scanner.owing;
}

test('the preface is owed from the start, and until its last byte', () => {
  assert.equal(new FrameScanner().owing, true);
  assert.equal(owingAfter(PREFACE.subarray(0, 23)), true);
  assert.equal(owingAfter(PREFACE), false);
});

test('a frame header or a control frame cut short is owed; a whole one is not', () => {
  const ping = frame(FRAME.PING, 0, 0, Buffer.alloc(8));
  for (let cut = 1; cut < ping.length; cut++) assert.equal(owingAfter(PREFACE, ping.subarray(0, cut)), true, `cut at ${cut}`);
  assert.equal(owingAfter(PREFACE, ping), false);
  assert.equal(owingAfter(PREFACE, frame(FRAME.SETTINGS, FLAG.ACK, 0)), false, 'an empty frame ends with its header');
});

test('a DATA payload is the stream clock\'s, not the connection\'s; its frame header is the connection\'s', () => {
  const data = frame(FRAME.DATA, 0, 1, Buffer.alloc(100));
  assert.equal(owingAfter(PREFACE, data.subarray(0, 5)), true);
  assert.equal(owingAfter(PREFACE, data.subarray(0, 9)), false);
  assert.equal(owingAfter(PREFACE, data.subarray(0, 50)), false);
});

test('a header block is owed until the frame with END_HEADERS has ended, across CONTINUATION frames', () => {
  const open = frame(FRAME.HEADERS, 0, 1, Buffer.alloc(10));
  const more = frame(FRAME.CONTINUATION, 0, 1, Buffer.alloc(10));
  const last = frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, Buffer.alloc(10));
  assert.equal(owingAfter(PREFACE, open), true);
  assert.equal(owingAfter(PREFACE, open, more), true);
  assert.equal(owingAfter(PREFACE, open, more, last.subarray(0, 12)), true, 'its last frame cut short');
  assert.equal(owingAfter(PREFACE, open, more, last), false);
  assert.equal(owingAfter(PREFACE, frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.alloc(10))), false);
  assert.equal(owingAfter(PREFACE, frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.alloc(10)).subarray(0, 15)), true);
  assert.equal(owingAfter(PREFACE, frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1)), false, 'an empty block');
  // A CONTINUATION outside a block is a protocol error for nghttp2; the scanner only must not open a block for it.
  assert.equal(owingAfter(PREFACE, frame(FRAME.CONTINUATION, 0, 1, Buffer.alloc(3))), false);
});

/** A frame of a random kind, and whether a header block is open after it (given whether one was before). */
const anyFrame = fc.record({
  type: fc.constantFrom(FRAME.DATA, FRAME.HEADERS, FRAME.CONTINUATION, FRAME.PING, FRAME.SETTINGS, FRAME.WINDOW_UPDATE, FRAME.RST_STREAM),
  endHeaders: fc.boolean(),
  length: fc.nat({ max: 300 }),
});

test('property: wherever the bytes are split, the scanner owes exactly what a whole-frame reading says', () => {
  fc.assert(
    fc.property(fc.array(anyFrame, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
      let blockOpen = false;
      const bytes: Buffer[] = [PREFACE];
      for (const f of frames) {
        bytes.push(frame(f.type, f.endHeaders ? FLAG.END_HEADERS : 0, 1, Buffer.alloc(f.length, 0xaa)));
        if (f.type === FRAME.HEADERS || (f.type === FRAME.CONTINUATION && blockOpen)) blockOpen = !f.endHeaders;
      }
      const all = Buffer.concat(bytes);
      const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
      const scanner = new FrameScanner();
      let at = 0;
      for (const p of points) {
        scanner.push(all.subarray(at, p));
        at = p;
      }
      scanner.push(all.subarray(at));
      assert.equal(scanner.owing, blockOpen);
    }),
    { numRuns: 500 },
  );
});
