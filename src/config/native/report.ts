// What every part of the native builder reports through: diagnostics at the line of a YAML key path, and file
// names resolved against the YAML file's directory, so balancers, TLS and virtual hosts word positions alike.
import { resolve } from 'node:path';
import type { Diagnostic, Source } from '../model.ts';
import { formatKeyPath, type KeyPath, type Locator } from './locate.ts';

export interface BuildContext {
  file: string;
  /** Relative file names in the configuration are relative to the YAML file's directory. */
  baseDir: string;
  locator: Locator;
}

export class NativeReport {
  readonly #context: BuildContext;
  readonly diagnostics: Diagnostic[] = [];

  constructor(context: BuildContext) {
    this.#context = context;
  }

  report(severity: Diagnostic['severity'], path: KeyPath, message: string): void {
    this.diagnostics.push({ severity, ...this.source(path), directive: formatKeyPath(path), message });
  }

  source(path: KeyPath): Source {
    return { file: this.#context.file, line: this.#context.locator.lineOf(path) };
  }

  file(name: string): string {
    return resolve(this.#context.baseDir, name);
  }

  reportDuplicates(values: string[], pathOf: (i: number) => KeyPath, what: string): void {
    const first = new Map<string, number>();
    values.forEach((value, i) => {
      const seen = first.get(value);
      if (seen === undefined) first.set(value, i);
      else this.report('error', pathOf(i), `duplicate ${what} "${value}"; the first is at line ${this.#context.locator.lineOf(pathOf(seen))}`);
    });
  }
}
