// What an operator reads after a --check, a start or a reload: errors, then the warnings about their own sites
// (what Stickler does differently from httpd there), then the rest, and the directives that have no meaning for a
// load balancer (a stock Debian tree has hundreds: AddIcon, AddLanguage, LoadModule...) summed up in one line.
import { dirname, sep } from 'node:path';
import { formatDiagnostic, type Diagnostic, type LoadResult, type SticklerConfig } from './model.ts';

export interface PrintOptions {
  /** List every inert directive instead of summing them up. */
  verbose?: boolean;
  /** The files that hold the operator's sites (see sitesOf): their warnings come first. */
  sites?: readonly string[];
}

/** The files holding a virtual host or a balancer: the operator's own sites. */
export function siteFiles(config: SticklerConfig): string[] {
  return [...new Set([...config.virtualHosts, ...config.balancers].map((o) => o.source.file))];
}

/** The sites of a load, whether the configuration was kept or refused by the verification. */
export function sitesOf(result: LoadResult): string[] {
  return result.config ? siteFiles(result.config) : (result.sites ?? []);
}

/** At most this many directive names are shown in the summary line; --verbose shows them all. */
const NAMES_SHOWN = 6;

/** The lines to print, in the order an operator should read them. */
export function diagnosticLines(diagnostics: readonly Diagnostic[], options: PrintOptions = {}): string[] {
  const sites = new Set(options.sites);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const warnings = diagnostics.filter((d) => d.severity === 'warning' && (options.verbose || !d.inert));
  const inert = options.verbose ? [] : diagnostics.filter((d) => d.severity === 'warning' && d.inert);
  const ordered = [...errors, ...warnings.filter((d) => sites.has(d.file)), ...warnings.filter((d) => !sites.has(d.file))];
  const lines = ordered.map((d) => `${d.severity === 'warning' ? 'warning: ' : ''}${formatDiagnostic(d)}`);
  if (inert.length > 0) lines.push(`warning: ${inertSummary(inert)}`);
  return lines;
}

/** `ignored 282 directives with no meaning for a load balancer (AddIcon ×91, ...); --verbose lists them`. */
export function inertSummary(inert: readonly Diagnostic[]): string {
  const counts = new Map<string, number>();
  for (const d of inert) counts.set(d.directive, (counts.get(d.directive) ?? 0) + 1);
  const names = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = names.slice(0, NAMES_SHOWN).map(([name, n]) => `${name} ×${n}`);
  if (names.length > NAMES_SHOWN) shown.push(`${names.length - NAMES_SHOWN} more`);
  const where = commonDirectory(inert.map((d) => d.file));
  const plural = inert.length === 1 ? 'directive' : 'directives';
  return `${where}: ignored ${inert.length} ${plural} with no meaning for a load balancer (${shown.join(', ')}); --verbose lists them`;
}

/**
 * What a reload prints besides its verdict: its errors, and the warnings the running configuration did not already
 * have. A warning is the same when its file, directive and message are, so a line moved by an edit is not news.
 */
export function reloadDiagnostics(running: readonly Diagnostic[], next: readonly Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => `${d.severity}\n${d.file}\n${d.directive}\n${d.message}`;
  const seen = new Set(running.map(key));
  return next.filter((d) => d.severity === 'error' || !seen.has(key(d)));
}

/** The deepest directory holding every file: where the summed-up directives are. */
function commonDirectory(files: readonly string[]): string {
  const parts = files.map((f) => dirname(f).split(sep));
  const first = parts[0] ?? [];
  let depth = 0;
  while (depth < first.length && parts.every((p) => p[depth] === first[depth])) depth++;
  return first.slice(0, depth).join(sep) || sep;
}
