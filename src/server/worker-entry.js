// A worker thread's first module, in plain JavaScript for the reason src/cli.js gives: the compile cache is on
// before the worker's TypeScript modules load, so a warm worker never loads the stripper (about 17 MB a thread).
import { enableCompileCache } from 'node:module';
import { stripOwnTypeScript } from '../own-typescript.js';

enableCompileCache();
stripOwnTypeScript();
await import('./worker-thread.ts');
