// Entry points: read an Apache httpd 2.4 configuration as it is and turn it into Stickler's model.
// Reading never throws: every problem is a Diagnostic, and `config` is present only when there is no error.
// Structural errors (unclosed or stray sections) stop before translation, because every directive after an
// unclosed section would otherwise be misreported as being in the wrong context.
import { globSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { LoadResult } from '../model.ts';
import { assemble } from './assemble.ts';
import { envvarsLookup, readEnvvars } from './envvars.ts';
import type { ConfigFiles } from './parse.ts';
import { ConfigParser } from './parse.ts';
import { Report } from './report.ts';
import { Translator } from './translate.ts';

export interface ApacheLoadOptions {
  /** The envvars file to read, over apache2ctl's own lookup (see envvarsLookup). */
  envvars?: string;
}

export function loadApacheConfig(path: string, options: ApacheLoadOptions = {}): LoadResult {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return {
      diagnostics: [{ severity: 'error', file, line: 0, directive: '(file)', message: `cannot read the configuration: ${(e as Error).message}; expected a readable Apache httpd configuration file` }],
    };
  }
  const report = new Report();
  const { env, exported } = environment(file, options.envvars, report);
  const result = loadApacheConfigText(text, file, env, report);
  if (result.config && Object.keys(exported).length > 0) result.config.environment = exported;
  return result;
}

interface Environment {
  /** What ${VAR} sees. */
  env: Readonly<Record<string, string | undefined>>;
  /** What envvars set differently from Stickler's own environment: httpd's children would have it. */
  exported: Record<string, string>;
}

/**
 * The environment httpd would see under apache2ctl: apache2ctl sets APACHE_CONFDIR (to /etc/apache2 unless it is
 * set; here, the main file's directory) and sources envvars over its own environment.
 */
function environment(mainFile: string, named: string | undefined, report: Report): Environment {
  const unchanged = { env: process.env, exported: {} };
  const found = named === undefined ? envvarsLookup(mainFile, process.env, isFile) : { file: resolve(named) };
  if (found.skipped) report.warning({ file: mainFile, line: 0 }, 'envvars', found.skipped);
  if (found.file === undefined) return unchanged;
  let text: string;
  try {
    text = readFileSync(found.file, 'utf8');
  } catch (e) {
    report.error({ file: found.file, line: 0 }, 'envvars', `cannot read the envvars file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; expected a readable file (--envvars FILE)`);
    return unchanged;
  }
  const read = readEnvvars(text, found.file, { ...process.env, APACHE_CONFDIR: process.env.APACHE_CONFDIR ?? dirname(mainFile) });
  for (const { source, message } of read.skipped) report.warning(source, 'envvars', message);
  // apache2ctl sets a missing APACHE_CONFDIR for envvars without exporting it: httpd's children never see that one.
  const exported = Object.fromEntries(Object.entries(read.env).filter(([name, value]) => process.env[name] !== value && (name !== 'APACHE_CONFDIR' || process.env.APACHE_CONFDIR !== undefined)));
  return { env: read.env, exported };
}

/** `file` names the text in diagnostics; Include paths resolve against its directory (or ServerRoot). */
export function loadApacheConfigText(text: string, file: string, env: Readonly<Record<string, string | undefined>> = process.env, report = new Report()): LoadResult {
  const parser = new ConfigParser(diskFiles, report, resolve(file), env);
  const nodes = parser.parseText(text, file);
  if (parser.structuralErrors > 0) return { diagnostics: report.diagnostics };
  const config = assemble(new Translator(report).walk(nodes), file, report);
  return report.errorCount() > 0 ? { diagnostics: report.diagnostics } : { config, diagnostics: report.diagnostics };
}

const WILDCARD = /[*?[]/;

const diskFiles: ConfigFiles = {
  expand(pattern) {
    if (WILDCARD.test(pattern)) return globSync(pattern).filter(isFile).sort();
    if (isDirectory(pattern)) return filesUnder(pattern);
    return isFile(pattern) ? [pattern] : [];
  },
  read(path) {
    return readFileSync(path, 'utf8');
  },
  exists(path) {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  },
};

/** httpd includes every file below an Included directory, in sorted order. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return isDirectory(path) ? filesUnder(path) : isFile(path) ? [path] : [];
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
