// When a client must have sent what is awaited from it, as Apache's mod_reqtimeout counts it: a stage starts
// with its timeout, each byte received earns 1/minRate of a second, never past the stage's maximum. Activity
// alone earns nothing, so a client trickling a byte a second is still cut off: only the rate counts. Pure
// arithmetic on times given by the caller; the connection owns the timer.
import type { Millis, ReadTimeout } from '../config/model.ts';

export class ReadDeadline {
  /** Infinity while nothing is awaited. */
  private at = Infinity;
  private ceiling = Infinity;
  private msPerByte = 0;
  /** Set while the reading is paused by Stickler itself: that time is not the client's. */
  private pausedAt: number | undefined;

  /** A new stage from `now`: a fixed number of milliseconds, or a rate-extended ReadTimeout. */
  start(stage: Millis | ReadTimeout, now: number): void {
    const { timeout, minRate, max } = typeof stage === 'number' ? { timeout: stage, minRate: 0, max: 0 } : stage;
    this.at = now + timeout;
    this.ceiling = max > 0 ? now + max : Infinity;
    this.msPerByte = minRate > 0 ? 1000 / minRate : 0;
    this.pausedAt = undefined;
  }

  stop(): void {
    this.at = Infinity;
    this.ceiling = Infinity;
    this.msPerByte = 0;
    this.pausedAt = undefined;
  }

  received(bytes: number): void {
    if (this.msPerByte > 0) this.at = Math.min(this.at + bytes * this.msPerByte, this.ceiling);
  }

  pause(now: number): void {
    if (this.at !== Infinity) this.pausedAt ??= now;
  }

  /** The paused time is added to the deadline and to the ceiling alike. */
  resume(now: number): void {
    if (this.pausedAt === undefined) return;
    const paused = now - this.pausedAt;
    this.at += paused;
    this.ceiling += paused;
    this.pausedAt = undefined;
  }

  /** Milliseconds left; Infinity while nothing is awaited or the reading is paused; 0 or less once it ran out. */
  remaining(now: number): number {
    return this.pausedAt === undefined ? this.at - now : Infinity;
  }
}
