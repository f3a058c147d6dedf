// The rules for the values of balancer and member settings, kept once for every front end that takes them: the
// Apache reader (BalancerMember, ProxyPass and ProxySet parameters), the native YAML reader and the balancer
// manager (its JSON API and httpd's form). Each parser gives the value or a reason; the front end names the value
// in its own way (`loadfactor "0"`, `balancers.app.members[1].loadfactor: 0`, `change.loadfactor: 0`) and the
// rest of the message is the rule's own, so a value is refused in the same words wherever it is written.
// Text is read with httpd's grammar; a number (YAML, JSON) is judged by the same range.
import { TOKEN } from '../http/syntax.ts';
import { LB_METHODS, type LbMethod, type StatusFlag, type StickyConfig } from './model.ts';

/** What is wrong with a value, and what was expected instead. */
export interface Reason {
  problem: string;
  expected: string;
}

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: Reason };

const ok = <T>(value: T): Verdict<T> => ({ ok: true, value });
const no = <T>(problem: string, expected: string): Verdict<T> => ({ ok: false, reason: { problem, expected } });

/** The message for a refused value, after the front end's own name for it: `loadfactor "0" is out of range; expected ...`. */
export function because(subject: string, reason: Reason): string {
  return `${subject} ${reason.problem}; expected ${reason.expected}`;
}

/** httpd keeps route, redirect and sticky names in 64-byte fields (PROXY_WORKER_MAX_ROUTE_SIZE, mod_proxy.h). */
export const NAME_LIMIT = 63;

const DECIMAL = /^\d+(\.\d+)?$/;
const WHOLE = /^\d{1,9}$/;

/** A number in [min, max]: a finite number as it is, or text matching `pattern`. */
function ranged(input: unknown, pattern: RegExp, min: number, max: number, whole: boolean, expected: string): Verdict<number> {
  const n = typeof input === 'number' ? input : typeof input === 'string' && pattern.test(input) ? Number(input) : NaN;
  if (!Number.isFinite(n)) return no(whole ? 'is not a whole number' : 'is not a number', expected);
  if (whole && !Number.isInteger(n)) return no('is not a whole number', expected);
  return n >= min && n <= max ? ok(n) : no('is out of range', expected);
}

/** loadfactor: 1 to 100, decimals allowed (httpd keeps it in hundredths). */
export const parseLoadfactor = (input: unknown) => ranged(input, DECIMAL, 1, 100, false, 'a number from 1 to 100');

/** lbset: 0 to 99 (mod_proxy.c set_worker_param). */
export const parseLbset = (input: unknown) => ranged(input, WHOLE, 0, 99, true, 'a whole number from 0 to 99');

/** maxattempts in the configuration: httpd only asks for 0 or more; a million is far beyond any balancer. */
export const parseMaxAttempts = (input: unknown) => ranged(input, WHOLE, 0, 1_000_000, true, 'a whole number from 0 to 1000000');

/** The ranges httpd's balancer-manager accepts (bal.c, balancer_process_balancer_worker); ours keeps them. */
export const parseManagerMaxAttempts = (input: unknown) => ranged(input, WHOLE, 0, 99, true, 'a whole number from 0 to 99');
export const parseManagerTimeoutMs = (input: unknown) =>
  ranged(input, WHOLE, 0, 7_200_000, true, 'whole milliseconds from 0 to 7200000 (Apache: 0 to 7200 s)');

/** stop-when-idle through the manager: whole milliseconds, 0 (never) to a day, beyond any servlet session timeout in use. */
export const parseManagerStopWhenIdleMs = (input: unknown) =>
  ranged(input, WHOLE, 0, 86_400_000, true, 'whole milliseconds from 0 (never) to 86400000 (a day)');

/**
 * A route or redirect: at most NAME_LIMIT printable characters, empty for none. YAML reads `jvmRoute: 1` as a
 * number, which is taken as its text.
 */
export function parseRouteName(input: unknown): Verdict<string> {
  const text = typeof input === 'number' && Number.isSafeInteger(input) && input >= 0 ? String(input) : input;
  const expected = `at most ${NAME_LIMIT}`;
  if (typeof text !== 'string') return no('is not a name', `a name of ${expected} characters`);
  if (text.length > NAME_LIMIT) return no(`is too long (${text.length} characters)`, expected);
  if (/[\u0000-\u001f\u007f]/.test(text)) return no('contains a control character', `${expected} printable characters`);
  return ok(text);
}

/** The status flags httpd's `status=` knows (mod_proxy.h PROXY_WORKER_* flag letters). */
export const STATUS_FLAGS: readonly StatusFlag[] = ['I', 'N', 'D', 'S', 'E', 'H', 'R', 'C'];
export const STATUS_EXPECTED = `flags from ${STATUS_FLAGS.join(', ')}, each optionally after + or -`;

export function statusFlag(c: string): StatusFlag | undefined {
  return STATUS_FLAGS.find((f) => f === c.toUpperCase());
}

/**
 * httpd's `status=` grammar on top of `from`: each character is a flag, `+`/`-` switch between setting and
 * clearing for the characters that follow, setting is the default, case does not matter.
 */
export function parseStatusFlags(input: unknown, from: readonly StatusFlag[] = []): Verdict<StatusFlag[]> {
  if (typeof input !== 'string') return no('is not a status', STATUS_EXPECTED);
  const set = [...from];
  let adding = true;
  for (const c of input) {
    if (c === '+' || c === '-') {
      adding = c === '+';
      continue;
    }
    const flag = statusFlag(c);
    if (flag === undefined) return no(`has unknown flag "${c}"`, STATUS_EXPECTED);
    const at = set.indexOf(flag);
    if (adding && at < 0) set.push(flag);
    if (!adding && at >= 0) set.splice(at, 1);
  }
  return ok(set);
}

const LB_EXPECTED = `${LB_METHODS.slice(0, -1).join(', ')} or ${LB_METHODS.at(-1)}`;

/** A balancing method by name, in any case. */
export function parseLbMethod(input: unknown): Verdict<LbMethod> {
  const name = typeof input === 'string' ? input.toLowerCase() : undefined;
  const method = LB_METHODS.find((l) => l === name);
  if (method !== undefined) return ok(method);
  return no(name === 'heartbeat' ? 'is not supported by Stickler (it needs mod_heartmonitor)' : 'is not known', LB_EXPECTED);
}

const STICKY_EXPECTED = 'COOKIE or COOKIE|urlparam';

/**
 * `COOKIE` or `COOKIE|urlparam`. Each name is a token (a cookie name must be one, RFC 6265 §4.1.1) of at most
 * NAME_LIMIT characters: httpd truncates longer ones silently, and refusing them is kinder than a sticky miss.
 */
export function parseStickySession(input: unknown): Verdict<StickyConfig> {
  if (typeof input !== 'string') return no('is not a name', STICKY_EXPECTED);
  const names = input.split('|');
  if (names.length > 2) return no('has more than two names', STICKY_EXPECTED);
  for (const name of names) {
    if (name === '') return no('has an empty name', STICKY_EXPECTED);
    if (name.length > NAME_LIMIT) return no(`has a name of ${name.length} characters`, `names of at most ${NAME_LIMIT}`);
    const bad = [...name].find((c) => (TOKEN[c.charCodeAt(0)] ?? 0) === 0);
    if (bad !== undefined) return no(`has ${JSON.stringify(bad)} in a name`, `${STICKY_EXPECTED} of letters, digits and !#$%&'*+-.^_\`~`);
  }
  const [cookie = '', urlParam = cookie] = names;
  return ok({ cookie, urlParam });
}
