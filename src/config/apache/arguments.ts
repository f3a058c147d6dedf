// The checks every directive reader shares: how many arguments a line has, and On/Off flags; each reports
// file:line: Directive: what is wrong and what was expected, so all readers word these the same way.
import type { DirectiveNode } from './parse.ts';
import type { Report } from './report.ts';
import type { Setting } from './server-draft.ts';
import { parseOnOff } from './values.ts';

export function arity(node: DirectiveNode, min: number, max: number, expected: string, report: Report): boolean {
  const n = node.args.length;
  if (n >= min && n <= max) return true;
  const what = n < min ? (n === 0 ? 'missing argument' : `too few arguments (${n})`) : `too many arguments (${n})`;
  report.error(node.source, node.name, `${what}; expected ${expected}`);
  return false;
}

export function flag(node: DirectiveNode, report: Report): boolean | undefined {
  if (!arity(node, 1, 1, 'On or Off', report)) return undefined;
  const on = parseOnOff(node.args[0] ?? '');
  if (on === undefined) report.error(node.source, node.name, `"${node.args[0]}" is not On or Off; expected On or Off`);
  return on;
}

/** An On/Off directive as a setting that remembers its line; undefined (reported) when it is neither. */
export function flagSetting(node: DirectiveNode, report: Report): Setting<boolean> | undefined {
  const on = flag(node, report);
  return on === undefined ? undefined : { value: on, source: node.source };
}
