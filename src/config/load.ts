// One entry point for every configuration file: the extension picks the front end. Both front ends report
// problems as Diagnostics; this layer makes sure a missing file or an unexpected failure does too.

import { accessSync, constants, statSync } from 'node:fs';
import { extname } from 'node:path';
import { loadApacheConfig } from './apache/load.ts';
import type { LoadResult } from './model.ts';
import { loadNativeConfig, unreadable } from './native/load.ts';

export function loadConfig(path: string): LoadResult {
  try {
    if (statSync(path).isDirectory()) return { diagnostics: [unreadable(path, new Error('it is a directory'))] };
    accessSync(path, constants.R_OK);
  } catch (err) {
    return { diagnostics: [unreadable(path, err)] };
  }
  const native = ['.yaml', '.yml'].includes(extname(path).toLowerCase());
  try {
    return native ? loadNativeConfig(path) : loadApacheConfig(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { diagnostics: [{ severity: 'error', file: path, line: 0, directive: 'file', message: `internal error while loading: ${reason}` }] };
  }
}
