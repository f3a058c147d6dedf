// The read clock of one thing a client is sending (an HTTP/1.1 connection, an HTTP/2 stream or header block): a
// ReadDeadline and the one timer that enforces it. Both protocols use it, so a slow client meets the same
// deadline whichever it speaks.
import type { Millis, ReadTimeout } from '../config/model.ts';
import { ReadDeadline } from './read-deadline.ts';

export class ReadClock {
  private readonly deadline = new ReadDeadline();
  private timer: NodeJS.Timeout | undefined;
  /** When `timer` fires. */
  private timerAt = 0;
  private stopped = false;
  private readonly expired: () => void;

  constructor(expired: () => void) {
    this.expired = expired;
  }

  /** A new stage from now: its timeout, rate-extended when it is a ReadTimeout. */
  start(stage: Millis | ReadTimeout): void {
    this.deadline.start(stage, performance.now());
    this.arm();
  }

  /** Nothing is awaited from the client now. */
  stop(): void {
    this.deadline.stop();
  }

  received(bytes: number): void {
    this.deadline.received(bytes);
  }

  /** Stickler stopped reading: that time is not the client's. */
  pause(): void {
    this.deadline.pause(performance.now());
  }

  resume(): void {
    this.deadline.resume(performance.now());
    this.arm();
  }

  /** For good: the connection or stream is gone. */
  dispose(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One timer, re-armed only when it fires: a deadline pushed later by the bytes that arrive, or a new stage, costs
   * nothing until then. A new stage may come due sooner than the pending timer, so that case re-arms at once.
   */
  private arm(): void {
    const now = performance.now();
    const left = Math.max(this.deadline.remaining(now), 0);
    if (left === Infinity || this.stopped || (this.timer && this.timerAt <= now + left)) return;
    clearTimeout(this.timer);
    this.timerAt = now + left;
    this.timer = setTimeout(() => this.fire(), left);
  }

  private fire(): void {
    this.timer = undefined;
    const left = this.deadline.remaining(performance.now());
    if (left === Infinity || this.stopped) return;
    if (left > 0) return this.arm();
    this.deadline.stop();
    this.expired();
  }
}
