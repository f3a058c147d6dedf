// Collects every problem found while reading, so one run shows them all instead of stopping at the first.
import type { Diagnostic, Source } from '../model.ts';
import { formatDiagnostic } from '../model.ts';

export class Report {
  readonly diagnostics: Diagnostic[] = [];

  readonly #seen = new Set<string>();

  error(at: Source, directive: string, message: string): void {
    this.#add({ severity: 'error', file: at.file, line: at.line, directive, message });
  }

  warning(at: Source, directive: string, message: string): void {
    this.#add({ severity: 'warning', file: at.file, line: at.line, directive, message });
  }

  /** A directive with no meaning for a load balancer: a warning that is summed up rather than listed. */
  inert(at: Source, directive: string, message: string): void {
    this.#add({ severity: 'warning', file: at.file, line: at.line, directive, message, inert: true });
  }

  /** The same finding can come up once per virtual host that inherits a line; it is reported once. */
  #add(d: Diagnostic): void {
    const key = `${d.severity} ${formatDiagnostic(d)}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.diagnostics.push(d);
  }

  errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === 'error').length;
  }
}
