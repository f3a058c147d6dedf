// Front door of the native YAML format: text -> YAML document -> schema -> model. Every problem becomes a
// Diagnostic with the line of the offending node; nothing here throws on bad input.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isScalar, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { unreadable, type Diagnostic, type LoadResult } from '../model.ts';
import { buildConfig } from './build.ts';
import { formatKeyPath, Locator } from './locate.ts';
import { keysAt, nativeSchema } from './schema.ts';
import { describe } from './values.ts';

export function loadNativeConfig(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { diagnostics: [unreadable(path, err)] };
  }
  return loadNativeConfigText(text, path);
}

/** A file that cannot be read has no line to point at, so its diagnostics use line 0. */

export function loadNativeConfigText(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locator = new Locator(doc, lineCounter);
  const syntax = [
    ...doc.errors.map((e) => yamlDiagnostic('error', e, file, locator)),
    ...doc.warnings.map((e) => yamlDiagnostic('warning', e, file, locator)),
  ];
  if (doc.errors.length > 0) return { diagnostics: syntax };
  const reserved = prototypeKeys(doc, file, locator);
  if (reserved.length > 0) return { diagnostics: [...syntax, ...reserved] };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // toJS refuses alias expansions that would blow up (the "billion laughs" document).
    const reason = err instanceof Error ? err.message : String(err);
    return { diagnostics: [...syntax, { severity: 'error', file, line: 1, directive: 'YAML syntax', message: reason }] };
  }
  if (data === null || data === undefined) {
    return { diagnostics: [...syntax, { severity: 'error', file, line: 1, directive: '(top level)',
      message: 'the file is empty; expected a mapping with virtual-hosts and balancers' }] };
  }
  const parsed = nativeSchema.safeParse(data);
  if (!parsed.success) {
    return { diagnostics: [...syntax, ...parsed.error.issues.flatMap((issue) => schemaDiagnostics(issue, data, file, locator))] };
  }
  const built = buildConfig(parsed.data, { file, baseDir: dirname(resolve(file)), locator });
  // Checks run per concept, not in file order; a reader fixes a file top to bottom.
  const diagnostics = [...syntax, ...built.diagnostics].sort((a, b) => a.line - b.line);
  return diagnostics.some((d) => d.severity === 'error') ? { diagnostics } : { config: built.config, diagnostics };
}

/**
 * A `__proto__` key would set the prototype of the object toJS builds instead of adding an entry, so the entry
 * would vanish without a word (a balancer called so, say): no key may be named so.
 */
function prototypeKeys(doc: Document, file: string, locator: Locator): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '__proto__') {
        found.push({ severity: 'error', file, line: locator.lineOfOffset(pair.key.range?.[0] ?? 0), directive: '__proto__', message: 'no key may be named __proto__ (every object has one); expected another name' });
      }
    },
  });
  return found;
}

function yamlDiagnostic(severity: Diagnostic['severity'], error: YAMLError, file: string, locator: Locator): Diagnostic {
  // The library appends " at line L, column C" and a code excerpt; the position already goes in the prefix.
  const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const line = error.linePos?.[0].line ?? locator.lineOfOffset(error.pos[0]);
  return { severity, file, line, directive: 'YAML syntax', message: message.charAt(0).toLowerCase() + message.slice(1) };
}

const EXPECTED_NAMES: Record<string, string> = {
  object: 'a mapping (key: value lines)',
  record: 'a mapping (name: settings)',
  array: 'a list ("- " entries)',
};

function schemaDiagnostics(issue: z.core.$ZodIssue, data: unknown, file: string, locator: Locator): Diagnostic[] {
  const at = (path: readonly PropertyKey[], message: string): Diagnostic =>
    ({ severity: 'error', file, line: locator.lineOf(path), directive: formatKeyPath(path), message });
  if (issue.code === 'unrecognized_keys') {
    const expected = keysAt(issue.path).join(', ');
    return issue.keys.map((key) => at([...issue.path, key], `unknown key; expected one of: ${expected}`));
  }
  if (issue.code === 'invalid_type') {
    const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
    return [at(issue.path, `expected ${expected}, got ${describe(valueAt(data, issue.path))}`)];
  }
  return [at(issue.path, issue.message)];
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}
