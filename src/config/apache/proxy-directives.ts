// mod_proxy's and mod_proxy_balancer's directives: ProxyPass and its routes, ProxyPassReverse and the cookie
// rewrites, ProxySet, BalancerMember and mod_proxy_hcheck's ProxyHCExpr and ProxyHCTemplate. The balancers and members they name
// are kept, and their key=value parameters applied, by the BalancerRegistry (balancers.ts).
import type { RouteConfig } from '../model.ts';
import { parseHealthExpr } from '../health-expr.ts';
import { upgradeProtocols } from '../upgrade.ts';
import { arity } from './arguments.ts';
import { type BalancerRegistry, parseBackendUrl, where } from './balancers.ts';
import { tokenize } from './lexer.ts';
import type { Param } from './params.ts';
import { HEALTH_KEYS, newHealthTemplate, setHealthParam, splitParam } from './params.ts';
import { didYouMean } from './nearest.ts';
import type { DirectiveNode } from './parse.ts';
import type { Report } from './report.ts';
import type { Scope } from './scope.ts';
import type { ServerDraft } from './server-draft.ts';

/** Positional words first (path and target, or only the target inside <Location>), then flags and key=value. */
export function readProxyPass(node: DirectiveNode, scope: Scope, balancers: BalancerRegistry, report: Report): void {
  const inLocation = scope.context === 'location';
  const usage = inLocation ? 'ProxyPass target [key=value ...] inside <Location>' : 'ProxyPass /path target [key=value ...]';
  const positional = inLocation ? 1 : 2;
  if (node.args[0] === '~') {
    report.error(node.source, 'ProxyPass', 'regular-expression ProxyPass (~) is not supported by Stickler; expected ProxyPass /path target');
    return;
  }
  if (!arity(node, positional, Infinity, usage, report)) return;
  if (inLocation && node.args[0]?.startsWith('/') && node.args[1] !== undefined && !node.args[1].includes('=')) {
    report.error(node.source, 'ProxyPass', `a ProxyPass inside <Location ${scope.locationPath}> takes no path (the location's path is used); expected ${usage}`);
    return;
  }
  const path = inLocation ? (scope.locationPath ?? '/') : (node.args[0] ?? '');
  const target = node.args[positional - 1] ?? '';
  if (!path.startsWith('/')) {
    report.error(node.source, 'ProxyPass', `path "${path}" does not start with /; expected ${usage}`);
    return;
  }
  const params = readParams(node, node.args.slice(positional), report);
  const route = readRoute(node, path, target, params, balancers, report);
  if (route === undefined) return;
  if (!inLocation) {
    scope.server.routes.push(route);
    return;
  }
  if (scope.locationRoute !== undefined) {
    report.warning(node.source, 'ProxyPass', `replaces the ProxyPass at ${where(scope.locationRoute.source, node.source)}: httpd keeps one ProxyPass per <Location>`);
  }
  scope.locationRoute = route;
}

function readRoute(node: DirectiveNode, path: string, target: string, allParams: Param[], balancers: BalancerRegistry, report: Report): RouteConfig | undefined {
  const source = node.source;
  if (target === '!') return { source, path, target: { kind: 'exclude' } };
  // upgrade= belongs to the route (which requests may switch protocols), not to the balancer or its members.
  const params = allParams.filter((p) => p.key !== 'upgrade');
  const upgradeWords = allParams.filter((p) => p.key === 'upgrade').map((p) => p.value);
  let upgrade: string[] | undefined;
  if (upgradeWords.length > 0) {
    const parsed = upgradeProtocols(upgradeWords);
    if ('error' in parsed) {
      report.error(source, 'ProxyPass', parsed.error);
      return undefined;
    }
    upgrade = parsed.protocols;
  }
  const backend = parseBackendUrl(target);
  if (typeof backend === 'string') {
    report.error(source, 'ProxyPass', backend);
    return undefined;
  }
  if (backend.kind === 'balancer') {
    const balancer = balancers.reference(backend.name, source, 'ProxyPass');
    balancers.applyBalancerParams(balancer, params, source, 'ProxyPass');
    return { source, path, target: { kind: 'balancer', balancer: balancer.name, path: backend.path, ...(upgrade && { upgrade }) } };
  }
  const { balancer, member } = balancers.worker(backend.origin, source, 'ProxyPass');
  balancers.applyWorkerParams(member, params, source, 'ProxyPass');
  return { source, path, target: { kind: 'balancer', balancer: balancer.name, path: backend.path, ...(upgrade && { upgrade }) } };
}

/** key=value parameters; httpd's few bare-word ProxyPass flags are accepted with a warning. */
function readParams(node: DirectiveNode, words: string[], report: Report): Param[] {
  const params: Param[] = [];
  for (const word of words) {
    const p = splitParam(word);
    if (p !== undefined) params.push(p);
    else if (node.name === 'ProxyPass' && ['nocanon', 'interpolate', 'noquery'].includes(word.toLowerCase())) {
      report.warning(node.source, node.name, `ignored: flag ${word.toLowerCase()} is not implemented by Stickler`);
    } else {
      report.error(node.source, node.name, `parameter "${word}" is not in key=value form; expected key=value such as loadfactor=1`);
    }
  }
  return params;
}

export function readProxyPassReverse(node: DirectiveNode, scope: Scope, report: Report): void {
  const args = node.args.filter((a) => a.toLowerCase() !== 'interpolate');
  const inLocation = scope.context === 'location';
  const n = inLocation ? 1 : 2;
  const usage = inLocation ? 'ProxyPassReverse url inside <Location>' : 'ProxyPassReverse /path url';
  if (args.length !== n) {
    report.error(node.source, node.name, `${args.length < n ? 'missing argument' : `too many arguments (${args.length})`}; expected ${usage}`);
    return;
  }
  const path = inLocation ? (scope.locationPath ?? '/') : (args[0] ?? '');
  const url = args[n - 1] ?? '';
  const backend = parseBackendUrl(url);
  if (typeof backend === 'string') {
    report.error(node.source, node.name, backend);
    return;
  }
  scope.server.reverse.push({ source: node.source, path, url });
}

/** ProxyPassReverseCookiePath and ProxyPassReverseCookieDomain. */
export function readCookieRewrite(node: DirectiveNode, server: ServerDraft, report: Report): void {
  const args = node.args.filter((a) => a.toLowerCase() !== 'interpolate');
  if (args.length !== 2) {
    report.error(node.source, node.name, `expected two arguments (internal and public value), got ${args.length}`);
    return;
  }
  const rewrite = { source: node.source, from: args[0] ?? '', to: args[1] ?? '' };
  (node.name === 'ProxyPassReverseCookiePath' ? server.cookiePaths : server.cookieDomains).push(rewrite);
}

export function readProxySet(node: DirectiveNode, scope: Scope, balancers: BalancerRegistry, report: Report): void {
  const inProxy = scope.context === 'proxy';
  const url = inProxy ? scope.proxyUrl : node.args[0];
  const words = inProxy ? node.args : node.args.slice(1);
  if (url === undefined || words.length === 0) {
    report.error(node.source, 'ProxySet', `missing argument; expected ${inProxy ? 'ProxySet key=value ...' : 'ProxySet url key=value ...'}`);
    return;
  }
  const backend = url === '*' ? 'ProxySet inside <Proxy *> has no backend; expected <Proxy balancer://name> or a worker URL' : parseBackendUrl(url);
  if (typeof backend === 'string') {
    report.error(node.source, 'ProxySet', backend);
    return;
  }
  // httpd: "ProxySet can not find 'balancer://x' Balancer": outside its <Proxy> section ProxySet creates nothing.
  if (backend.kind === 'balancer' && !inProxy && balancers.get(backend.name) === undefined) {
    report.error(node.source, 'ProxySet', `balancer://${backend.name} is not defined before this line; expected the ProxySet inside <Proxy balancer://${backend.name}>, or after the BalancerMember or ProxyPass lines that name it`);
    return;
  }
  const params = readParams(node, words, report);
  if (backend.kind === 'balancer') {
    balancers.applyBalancerParams(balancers.define(backend.name, node.source, 'ProxySet'), params, node.source, 'ProxySet');
  } else {
    balancers.applyWorkerParams(balancers.worker(backend.origin, node.source, 'ProxySet').member, params, node.source, 'ProxySet');
  }
}

/** `ProxyHCExpr name {expression}`: httpd reads the expression raw, so quotes and spaces in it are kept. */
export function readHealthExpr(node: DirectiveNode, balancers: BalancerRegistry, report: Report): void {
  const usage = 'a name and an expression, such as ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^[23]/}';
  const words = tokenize(node.rest, { braces: true });
  if (!words.ok) {
    report.error(node.source, node.name, words.message);
    return;
  }
  const [name = '', text = ''] = words.words;
  if (words.words.length !== 2 || text.trim() === '') {
    report.error(node.source, node.name, `${words.words.length > 2 ? `too many arguments (${words.words.length})` : 'missing argument'}; expected ${usage}`);
    return;
  }
  // httpd keeps the name in a 16-byte field and refuses longer ones.
  if (name.length > 15) {
    report.error(node.source, node.name, `name "${name}" is too long (${name.length} characters); expected at most 15`);
    return;
  }
  const parsed = parseHealthExpr(text);
  if ('error' in parsed) {
    report.error(node.source, node.name, `${name}: ${parsed.error}`);
    return;
  }
  balancers.defineHealthExpr(name, text.trim(), node.source);
}

/**
 * `ProxyHCTemplate name hcmethod=GET ...`: hc* settings a member takes with `hctemplate=name`. A template with a bad
 * parameter is not defined, as in httpd, which also stops there.
 */
export function readHealthTemplate(node: DirectiveNode, balancers: BalancerRegistry, report: Report): void {
  const usage = 'a name and hc* parameters, such as ProxyHCTemplate ready hcmethod=GET hcuri=/health/ready hcinterval=5';
  const [name, ...words] = node.args;
  if (name === undefined) {
    report.error(node.source, node.name, `missing argument; expected ${usage}`);
    return;
  }
  const settings = newHealthTemplate();
  for (const word of words) {
    const param = splitParam(word);
    if (param === undefined) {
      report.error(node.source, node.name, `${name}: parameter "${word}" is not in key=value form; expected ${usage}`);
      return;
    }
    if (!HEALTH_KEYS.includes(param.key)) {
      report.error(node.source, node.name, `${name}: unknown parameter "${param.key}"${didYouMean(param.key, HEALTH_KEYS)}; expected hc* parameters only: ${HEALTH_KEYS.join(', ')}`);
      return;
    }
    const outcome = setHealthParam(settings, param, balancers.healthNames);
    if (outcome !== undefined && 'error' in outcome) {
      report.error(node.source, node.name, `${name}: ${outcome.error}`);
      return;
    }
    if (outcome !== undefined) report.warning(node.source, node.name, `${name}: ${outcome.warning}`);
  }
  balancers.defineHealthTemplate(name, settings, node.source);
}

export function readBalancerMember(node: DirectiveNode, scope: Scope, balancers: BalancerRegistry, report: Report): void {
  const inProxy = scope.context === 'proxy';
  let balancerUrl = inProxy ? scope.proxyUrl : node.args[0];
  let rest = inProxy ? node.args : node.args.slice(1);
  // httpd also accepts the balancer URL as first argument inside its own <Proxy>.
  if (inProxy && node.args[0]?.toLowerCase().startsWith('balancer://')) {
    balancerUrl = node.args[0];
    rest = node.args.slice(1);
  }
  const balancer = balancerUrl === undefined ? undefined : parseBackendUrl(balancerUrl);
  if (balancer === undefined || typeof balancer === 'string' || balancer.kind !== 'balancer') {
    const message = inProxy
      ? `not inside a balancer: <Proxy ${scope.proxyUrl}> is not a balancer; expected it inside <Proxy balancer://name>`
      : 'outside a <Proxy balancer://...> section the balancer must come first; expected BalancerMember balancer://name url [key=value ...]';
    report.error(node.source, 'BalancerMember', message);
    return;
  }
  const [url, ...words] = rest;
  if (url === undefined) {
    report.error(node.source, 'BalancerMember', 'missing argument; expected BalancerMember url [key=value ...]');
    return;
  }
  balancers.addMember(balancer.name, url, readParams(node, words, report), node.source);
}
