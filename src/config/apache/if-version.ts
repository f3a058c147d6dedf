// `<IfVersion [[!]operator] version>` (mod_version), answered for the httpd release Stickler follows, so portable
// configurations that pick `Require` for 2.4 and `Order`/`Allow` for 2.2 keep the 2.4 branch.

/** The release whose behaviour and directive table Stickler follows (reference: Debian's 2.4.71). */
export const HTTPD_VERSION = [2, 4, 71] as const;

const OPERATORS = ['=', '==', '>', '>=', '<', '<=', '~'];
const EXPECTED = 'expected <IfVersion [[!]operator] version> such as <IfVersion >= 2.4> or <IfVersion ~ ^2\\.4>';

/** Whether the section applies, or an error message. */
export function ifVersionHolds(args: readonly string[]): boolean | string {
  const [first = '', second] = args;
  if (args.length === 0 || args.length > 2) return `expected one or two arguments, got ${args.length}; ${EXPECTED}`;
  const negated = first.startsWith('!');
  const written = negated ? first.slice(1) : first;
  const operator = args.length === 2 ? written : '=';
  const version = args.length === 2 ? (second ?? '') : written;
  if (!OPERATORS.includes(operator)) return `unknown operator "${operator}"; ${EXPECTED}`;
  // With = or ==, a version written /like this/ is a regular expression too.
  const slashed = (operator === '=' || operator === '==') && /^\/.+\/$/.test(version);
  const holds = operator === '~' ? matchesPattern(version) : slashed ? matchesPattern(version.slice(1, -1)) : compare(version, operator);
  return typeof holds === 'string' ? holds : holds !== negated;
}

function matchesPattern(pattern: string): boolean | string {
  try {
    return new RegExp(pattern).test(HTTPD_VERSION.join('.'));
  } catch {
    return `"${pattern}" is not a regular expression; ${EXPECTED}`;
  }
}

/** Missing parts are 0, as in mod_version: `2.4` is 2.4.0, so `<IfVersion 2.4>` is false for 2.4.71. */
function compare(version: string, operator: string): boolean | string {
  if (!/^\d+(\.\d+){0,2}$/.test(version)) return `"${version}" is not a version; ${EXPECTED}`;
  const parts = version.split('.').map(Number);
  let order = 0;
  for (const [i, ours] of HTTPD_VERSION.entries()) {
    const part = parts[i] ?? 0;
    if (ours !== part) {
      order = ours > part ? 1 : -1;
      break;
    }
  }
  if (operator === '>') return order > 0;
  if (operator === '>=') return order >= 0;
  if (operator === '<') return order < 0;
  if (operator === '<=') return order <= 0;
  return order === 0;
}
