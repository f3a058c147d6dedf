// Follows the frame boundaries of what an HTTP/2 client sends, without decoding anything, to tell when the client
// owes the rest of a frame or of a header block. node:http2 (nghttp2) shows a stream only once its whole header
// block arrived, so without this a header block kept open by CONTINUATION frames, or any frame trickled a byte at a
// time, would run on no clock at all. DATA payloads are left to the clock of the stream they belong to.

/** RFC 9113 §3.4: the connection preface a client sends first. */
const PREFACE_LENGTH = 24;
const FRAME_HEADER_LENGTH = 9;
const TYPE_DATA = 0x0;
const TYPE_HEADERS = 0x1;
const TYPE_PUSH_PROMISE = 0x5;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_HEADERS = 0x4;

export class FrameScanner {
  private prefaceLeft = PREFACE_LENGTH;
  private readonly header = Buffer.alloc(FRAME_HEADER_LENGTH);
  private headerHave = 0;
  private payloadLeft = 0;
  private type = -1;
  /** A HEADERS (or PUSH_PROMISE) frame came without END_HEADERS: CONTINUATION frames must follow until one has it. */
  private blockOpen = false;
  private blockEnds = false;

  /**
   * True while the client owes something other than a DATA payload: the preface (from the start: a client that
   * negotiated h2 must send it at once), a frame header, a non-DATA frame, or a header block that has not ended.
   */
  get owing(): boolean {
    if (this.blockOpen) return true;
    if (this.prefaceLeft > 0) return true;
    if (this.headerHave > 0) return true;
    return this.payloadLeft > 0 && this.type !== TYPE_DATA;
  }

  push(chunk: Buffer): void {
    let at = 0;
    if (this.prefaceLeft > 0) {
      const take = Math.min(this.prefaceLeft, chunk.length);
      this.prefaceLeft -= take;
      at = take;
    }
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - at);
        this.payloadLeft -= take;
        at += take;
        if (this.payloadLeft === 0) this.frameDone();
        continue;
      }
      const take = Math.min(FRAME_HEADER_LENGTH - this.headerHave, chunk.length - at);
      chunk.copy(this.header, this.headerHave, at, at + take);
      this.headerHave += take;
      at += take;
      if (this.headerHave === FRAME_HEADER_LENGTH) this.frameStarted();
    }
  }

  private frameStarted(): void {
    this.headerHave = 0;
    this.payloadLeft = this.header.readUIntBE(0, 3);
    this.type = this.header[3]!;
    const endHeaders = (this.header[4]! & FLAG_END_HEADERS) !== 0;
    if (this.type === TYPE_HEADERS || this.type === TYPE_PUSH_PROMISE || (this.type === TYPE_CONTINUATION && this.blockOpen)) {
      this.blockOpen = true;
      this.blockEnds = endHeaders;
    }
    if (this.payloadLeft === 0) this.frameDone();
  }

  private frameDone(): void {
    if (this.blockOpen && this.blockEnds) this.blockOpen = false;
    this.blockEnds = false;
    this.type = -1;
  }
}
