// When a managed certificate is ordered again, as pure arithmetic on times (milliseconds since the epoch): the
// renew window's start, the jitter that keeps a group of instances (and a CA's whole user base) from renewing in
// the same second, the backoff between failed attempts, and when failing becomes worth a warning.
import type { RenewWindow } from '../config/model.ts';

export interface Validity {
  notBefore: number;
  notAfter: number;
}

/** How long before notAfter the window opens, in whole milliseconds; never longer than the lifetime itself. */
export function windowLength(validity: Validity, window: RenewWindow): number {
  const lifetime = Math.max(0, validity.notAfter - validity.notBefore);
  // Whole milliseconds: a fraction would be lost against times near 2^41 and put the renewal at notAfter itself.
  const length = Math.ceil(window.kind === 'percent' ? (lifetime * window.percent) / 100 : window.ms);
  return Math.min(lifetime, length);
}

/** The part of the window a renewal may be delayed into, so renewals spread out and still start early in it. */
export const JITTER_SHARE = 0.1;
/** No renewal is delayed by more than this, however long the window. */
export const MAX_JITTER_MS = 60 * 60 * 1000;

/**
 * When to renew: the window's start plus a jitter of `random` (in [0, 1)) times a tenth of the window, at most an
 * hour. Always before notAfter, and never before the window opens.
 */
export function renewalTime(validity: Validity, window: RenewWindow, random: number): number {
  const length = windowLength(validity, window);
  const opens = validity.notAfter - length;
  return opens + Math.floor(Math.min(length * JITTER_SHARE, MAX_JITTER_MS) * clampUnit(random));
}

/** First retry after this; each failure doubles it up to BACKOFF_MAX_MS. */
export const BACKOFF_BASE_MS = 10_000;
export const BACKOFF_MAX_MS = 6 * 60 * 60 * 1000;

/**
 * The wait after the `failures`-th failure in a row (1 for the first): exponential, capped, and spread over its
 * upper half by `random` so retries of many instances do not meet. Never past the certificate's end when one is
 * still served and that end is later than a base delay away: a certificate about to expire is retried sooner.
 */
export function retryDelay(failures: number, random: number, untilExpiry?: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(30, Math.max(0, failures - 1)));
  const spread = Math.floor(ceiling / 2 + (ceiling / 2) * clampUnit(random));
  if (untilExpiry !== undefined && untilExpiry > BACKOFF_BASE_MS) return Math.max(BACKOFF_BASE_MS, Math.min(spread, Math.floor(untilExpiry / 2)));
  return spread;
}

/** A renewal that failed this many times in a row is shown as failing (console, log), whatever the time left. */
export const FAILURES_BEFORE_WARNING = 3;

/**
 * Whether renewal is failing enough to warn: FAILURES_BEFORE_WARNING in a row, or any failure once less than half
 * the window is left before the certificate served ends.
 */
export function failing(failures: number, now: number, validity: Validity | undefined, window: RenewWindow): boolean {
  if (failures >= FAILURES_BEFORE_WARNING) return true;
  if (failures === 0 || validity === undefined) return false;
  return validity.notAfter - now < windowLength(validity, window) / 2;
}

function clampUnit(x: number): number {
  return Number.isFinite(x) ? Math.min(Math.max(x, 0), 1 - Number.EPSILON) : 0;
}
