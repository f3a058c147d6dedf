// Collects every problem found while reading, so one run shows them all instead of stopping at the first.
import type { Diagnostic, Source } from '../model.ts';

export class Report {
  readonly diagnostics: Diagnostic[] = [];

  error(at: Source, directive: string, message: string): void {
    this.diagnostics.push({ severity: 'error', file: at.file, line: at.line, directive, message });
  }

  warning(at: Source, directive: string, message: string): void {
    this.diagnostics.push({ severity: 'warning', file: at.file, line: at.line, directive, message });
  }

  errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === 'error').length;
  }
}
