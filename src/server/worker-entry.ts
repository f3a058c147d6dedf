// A worker thread's first module: the compile cache (see cli.ts) must be on before the worker's modules load.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./worker-thread.ts');
