// Apache's worker status bits (docs/apache-semantics.md#status-flags, mp.h:320-369). The values are Apache's own so a
// status word read from the shared state means the same thing as in httpd's shm.
import type { StatusFlag } from '../config/model.ts';

export const Status = {
  INITIALIZED: 0x1,
  IGNORE_ERRORS: 0x2,
  DRAIN: 0x4,
  GENERIC: 0x8,
  IN_SHUTDOWN: 0x10,
  DISABLED: 0x20,
  STOPPED: 0x40,
  IN_ERROR: 0x80,
  HOT_STANDBY: 0x100,
  FREE: 0x200,
  HC_FAIL: 0x400,
  HOT_SPARE: 0x800,
} as const;

const FLAG_BITS: Record<StatusFlag, number> = {
  I: Status.IGNORE_ERRORS,
  N: Status.DRAIN,
  D: Status.DISABLED,
  S: Status.STOPPED,
  E: Status.IN_ERROR,
  H: Status.HOT_STANDBY,
  R: Status.HOT_SPARE,
  C: Status.HC_FAIL,
};

// Drain is deliberately absent: a draining worker is usable, only the balancing loop skips it (docs/apache-semantics.md#status-flags).
const NOT_USABLE = Status.IN_SHUTDOWN | Status.DISABLED | Status.STOPPED | Status.IN_ERROR | Status.HC_FAIL;

/** Manager labels in Apache's table order (util.c:4329-4345). */
const LABELS: ReadonlyArray<[bit: number, label: string]> = [
  [Status.INITIALIZED, 'Init '],
  [Status.IGNORE_ERRORS, 'Ign '],
  [Status.DRAIN, 'Drn '],
  [Status.GENERIC, 'Gen '],
  [Status.IN_SHUTDOWN, 'Shut '],
  [Status.DISABLED, 'Dis '],
  [Status.STOPPED, 'Stop '],
  [Status.IN_ERROR, 'Err '],
  [Status.HOT_STANDBY, 'Stby '],
  [Status.FREE, 'Free '],
  [Status.HC_FAIL, 'HcFl '],
  [Status.HOT_SPARE, 'Spar '],
];

/** The status word a configured member starts with: its flags plus INITIALIZED, which Apache sets on every worker. */
export function statusFromFlags(flags: readonly StatusFlag[]): number {
  let bits = Status.INITIALIZED;
  for (const flag of flags) bits |= FLAG_BITS[flag];
  return bits;
}

/** PROXY_WORKER_IS_USABLE (mp.h:347-359). */
export function isUsable(bits: number): boolean {
  return (bits & Status.INITIALIZED) !== 0 && (bits & NOT_USABLE) === 0;
}

/** The status column of Apache's balancer-manager: `Init Ok `, `Init Dis `, `??? ` when no bit is set. */
export function statusLabel(bits: number): string {
  let label = '';
  for (const [bit, text] of LABELS) if (bits & bit) label += text;
  if (label === '') return '??? ';
  return isUsable(bits) ? label + 'Ok ' : label;
}
