// Failures that are this process's, not the member's: out of descriptors, buffers, memory or local ports. Such a
// connect says nothing about the member, and another member would fail alike, so the request gets 503 and the
// member stays in the pick. A burst of them is logged once, not once per request.

/**
 * EMFILE/ENFILE: the process or the system is out of descriptors (or the reserve kept for the manager was reached,
 * STK_LOCAL_DESCRIPTORS). ENOBUFS/ENOMEM: no kernel buffers or memory for a socket. EADDRNOTAVAIL on connect:
 * no local port is left for the member's address (ephemeral port exhaustion), again nothing the member did.
 */
const LOCAL_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'STK_LOCAL_DESCRIPTORS']);

export function isLocalExhaustion(code: string | undefined): boolean {
  return code !== undefined && LOCAL_CODES.has(code);
}

/**
 * Says when a failure starts a burst: the first one, then none until `quietMs` pass without any. Counts those it
 * kept quiet, so the next burst's line can say how many the last one had.
 */
export class BurstLog {
  private readonly quietMs: number;
  private last = -Infinity;
  private quiet = 0;

  constructor(quietMs: number) {
    this.quietMs = quietMs;
  }

  /** undefined while a burst goes on; at the start of one, how many failures the previous burst kept quiet. */
  note(now: number): number | undefined {
    const starts = now - this.last >= this.quietMs;
    this.last = now;
    if (!starts) {
      this.quiet++;
      return undefined;
    }
    const quiet = this.quiet;
    this.quiet = 0;
    return quiet;
  }
}
