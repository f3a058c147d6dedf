// One entry point for every configuration file: the extension picks the front end. Both front ends report
// problems as Diagnostics; this layer makes sure a missing file or an unexpected failure does too.

import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { loadApacheConfig, type ApacheLoadOptions } from './apache/load.ts';
import { unreadable, type LoadResult } from './model.ts';

// The native reader brings yaml and zod (about 20 MB of a running process); an Apache file never needs them.
const require = createRequire(import.meta.url);
const loadNativeConfig = (path: string): LoadResult => (require('./native/load.ts') as typeof import('./native/load.ts')).loadNativeConfig(path);

/** `options` are Apache's: naming an envvars file for a native file is an error. */
export function loadConfig(path: string, options: ApacheLoadOptions = {}): LoadResult {
  try {
    if (statSync(path).isDirectory()) return { diagnostics: [unreadable(path, new Error('it is a directory'))] };
    accessSync(path, constants.R_OK);
  } catch (err) {
    return { diagnostics: [unreadable(path, err)] };
  }
  const native = ['.yaml', '.yml'].includes(extname(path).toLowerCase());
  if (native && options.envvars !== undefined) {
    return { diagnostics: [{ severity: 'error', file: options.envvars, line: 0, directive: '--envvars', message: `envvars is Apache's (apache2ctl sources it before httpd reads its configuration); a native YAML configuration such as ${path} reads no envvars file; expected --envvars only with an Apache configuration, and the variables in Stickler's environment` }] };
  }
  try {
    return native ? loadNativeConfig(path) : loadApacheConfig(path, options);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { diagnostics: [{ severity: 'error', file: path, line: 0, directive: 'file', message: `internal error while loading: ${reason}` }] };
  }
}
