// Node strips TypeScript's types itself, but refuses to for files under node_modules, which is where an installed
// Stickler lives (`npm install --prefix DIR stickler.tgz`). There this hook strips them for Stickler's own files,
// in each thread that loads them (the main thread and every worker); a checkout needs no hook and gets none.
// Plain JavaScript, as the entry points that call it.
import { registerHooks, stripTypeScriptTypes } from 'node:module';

const root = new URL('./', import.meta.url).href;

export function stripOwnTypeScript() {
  if (!root.includes('/node_modules/')) return;
  registerHooks({
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (loaded.format !== 'module-typescript' || !url.startsWith(root)) return loaded;
      return { ...loaded, format: 'module', source: stripTypeScriptTypes(String(loaded.source)) };
    },
  });
}
