// The proxied requests one thread has in flight, whatever protocol brought them: a cap beside max-connections,
// since one HTTP/2 connection carries many requests. It outlives reloads, so requests still running on an old
// configuration count against the new one's cap.
export class InFlight {
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Counts one more request unless `max` (0: no limit) are in flight already. */
  enter(max: number): boolean {
    if (max > 0 && this.count >= max) return false;
    this.count++;
    return true;
  }

  leave(): void {
    this.count--;
  }
}
