// Apache's value syntaxes: On/Off flags and time values (ap_timeout_parameter_parse: digits plus an optional
// unit ms, s, mi or h).
import type { Millis } from '../model.ts';

export function parseOnOff(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  return undefined;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, mi: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when `value` is not a whole number with an optional unit. */
export function parseDuration(value: string, defaultUnit: 's' | 'ms'): Millis | undefined {
  const m = /^(\d{1,9})(ms|s|mi|h)?$/i.exec(value);
  if (!m?.[1]) return undefined;
  return Number(m[1]) * (UNIT_MS[(m[2] ?? defaultUnit).toLowerCase()] ?? 1000);
}

export function parseInteger(value: string, min: number, max: number): number | undefined {
  if (!/^\d{1,9}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}
