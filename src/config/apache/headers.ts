// mod_headers' `Header` and `RequestHeader` lines, read with httpd's argument rules (header_cmd and
// header_inout_cmd in modules/metadata/mod_headers.c) into the model's HeaderRule; the value formats and
// regular expressions are checked by config/header-value.ts, whose pieces the request path renders.
import { HEADER_ACTIONS, type HeaderRule } from '../model.ts';
import { headerRuleProblem } from '../header-value.ts';
import type { DirectiveNode } from './parse.ts';
import type { Report } from './report.ts';
import type { Scope } from './scope.ts';
import { parseBackendUrl } from './balancers.ts';

/** One line, with the section it sits in, or what is wrong with it as a sentence. */
export function parseHeaderLine(name: 'Header' | 'RequestHeader', args: readonly string[]): Omit<HeaderRule, 'source' | 'location' | 'proxy'> | string {
  const synopsis = name === 'Header'
    ? 'Header [always|onsuccess] set|append|add|merge|setifempty|unset|edit|edit*|echo NAME [VALUE] [REPLACEMENT] [env=[!]VARIABLE]'
    : 'RequestHeader set|append|add|merge|setifempty|unset|edit|edit* NAME [VALUE] [REPLACEMENT] [env=[!]VARIABLE]';
  let words = [...args];
  let condition: HeaderRule['condition'] = 'onsuccess';
  const first = words[0]?.toLowerCase();
  if (name === 'Header' && (first === 'always' || first === 'onsuccess')) {
    condition = first;
    words = words.slice(1);
  }
  if (words.length > 5) return `too many arguments (${args.length}); expected ${synopsis}`;
  const [actionWord = '', header, value, subs, clause] = words;
  const action = HEADER_ACTIONS.find((a) => a === actionWord.toLowerCase());
  if (actionWord.toLowerCase() === 'note') return `the note action (a request note for other modules) has no meaning for Stickler; expected ${synopsis}`;
  if (action === undefined) return `unknown action "${actionWord}"; expected ${synopsis}`;
  if (action === 'echo' && name === 'RequestHeader') return `echo is valid only on Header; expected ${synopsis}`;
  if (header === undefined || header === '') return `missing header name; expected ${synopsis}`;
  let rule: Omit<HeaderRule, 'source' | 'location' | 'proxy'> = {
    direction: name === 'Header' ? 'response' : 'request',
    condition,
    action,
    // httpd drops what follows a colon: `Header set X-Name: value` names X-Name.
    header: header.includes(':') && action !== 'echo' ? header.slice(0, header.indexOf(':')) : header,
  };
  let envClause: string | undefined;
  if (action === 'edit' || action === 'edit*') {
    if (value === undefined || subs === undefined) return `${action} needs a regular expression and a replacement; expected ${name} ${action} NAME REGEX REPLACEMENT [env=[!]VARIABLE]`;
    rule = { ...rule, pattern: value, value: subs };
    envClause = clause;
  } else if (clause !== undefined) {
    return `too many arguments (${args.length}); expected ${synopsis}`;
  } else if (action === 'unset' || action === 'echo') {
    if (subs !== undefined) return `${action} takes a name and an optional condition; expected ${name} ${action} NAME [env=[!]VARIABLE]`;
    envClause = value;
  } else {
    if (value === undefined) return `${action} needs a value; expected ${name} ${action} NAME VALUE [env=[!]VARIABLE]`;
    rule = { ...rule, value };
    envClause = subs;
  }
  if (envClause !== undefined) {
    const lower = envClause.toLowerCase();
    if (lower === 'early') return 'early (applied before the request is read further, for testing) is not supported by Stickler; expected no condition or env=[!]VARIABLE';
    if (lower.startsWith('expr=')) return `expr= conditions (ap_expr) are not supported by Stickler; expected env=[!]VARIABLE`;
    if (!lower.startsWith('env=')) return `unknown condition "${envClause}"; expected env=VARIABLE or env=!VARIABLE`;
    const negate = envClause[4] === '!';
    const variable = envClause.slice(negate ? 5 : 4);
    if (variable === '') return `"${envClause}" names no variable; expected env=VARIABLE or env=!VARIABLE, such as env=BALANCER_ROUTE_CHANGED`;
    rule = { ...rule, env: { variable, negate } };
  }
  return rule;
}

/** A Header or RequestHeader line of any context, into the server's rules; problems are reported on its line. */
export function readHeaderRule(node: DirectiveNode, scope: Scope, report: Report): void {
  const parsed = parseHeaderLine(node.name === 'RequestHeader' ? 'RequestHeader' : 'Header', node.args);
  if (typeof parsed === 'string') return report.error(node.source, node.name, parsed);
  const place = where(scope);
  const rule: HeaderRule = { source: node.source, ...parsed, ...(typeof place === 'string' ? {} : place) };
  const problem = headerRuleProblem(rule);
  if (problem !== undefined) return report.error(node.source, node.name, problem);
  if (typeof place === 'string') return report.warning(node.source, node.name, place);
  scope.server.headerRules.push(rule);
}

/**
 * A <Location> rule covers its path; a <Proxy> rule the requests proxied to its balancer or origin whose path
 * starts with the section's (or any proxied one, `*`). A sentence when the rule can never apply.
 */
function where(scope: Scope): Pick<HeaderRule, 'location' | 'proxy' | 'proxyPath'> | string {
  if (scope.locationPath !== undefined) return { location: scope.locationPath };
  if (scope.proxyUrl === undefined) return {};
  const place = proxyScope(scope.proxyUrl);
  return typeof place === 'string'
    ? `this rule never applies: it covers requests proxied to <Proxy ${scope.proxyUrl}>, and Stickler never proxies there (${place})`
    : place;
}

/** A `<Proxy>` URL (or `*`) as the rule fields that cover it; a sentence when it names nothing Stickler proxies to. */
export function proxyScope(url: string): Pick<HeaderRule, 'proxy' | 'proxyPath'> | string {
  if (url === '*') return { proxy: '*' };
  const target = parseBackendUrl(url);
  if (typeof target === 'string') return target;
  const proxy = target.kind === 'balancer' ? target.name : target.origin;
  // httpd matches a name with wildcards by fnmatch, where a trailing `*` takes any rest, `/` included: `/app/*` is
  // the prefix `/app/`. Other wildcards widen to the prefix before them.
  const proxyPath = target.path.replace(/[*?[].*$/, '');
  return proxyPath === '' ? { proxy } : { proxy, proxyPath };
}
