// The `stickler` command. Node's compile cache keeps the type-stripped, compiled modules on disk between runs,
// so a warm start never loads the TypeScript stripper: about 17 MB less per process and a faster start. The
// cache must be on before the first TypeScript module loads, and this file would itself need the stripper if
// it were TypeScript: hence plain JavaScript, with only what must precede the first TypeScript module.
import { enableCompileCache } from 'node:module';
import { stripOwnTypeScript } from './own-typescript.js';

enableCompileCache();
stripOwnTypeScript();
await import('./command.ts');
