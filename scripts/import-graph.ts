// The import graph of src/: fails (exit 1) on any import cycle, or on an import that leaves a ground floor
// (GROUND_FLOORS below), so `npm test` keeps the layering one-way.
//
// Every relative import counts, type-only ones included: `import type` is erased at run time, but a type cycle
// still means neither module can be read, tested or moved without the other, which is what the check guards.
// Specifiers come from TypeScript's own pre-processing scanner (already a devDependency, and the one `tsc` uses),
// so imports inside comments, strings and template literals are not mistaken for edges: static `import`/`export
// ... from`, side-effect `import '...'`, dynamic `import('...')`, `typeof import('...')` and `require('...')`.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, matchesGlob, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export type Graph = ReadonlyMap<string, readonly string[]>;

/** The module specifiers a source text imports, in order of appearance. */
export function importSpecifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/**
 * The graph over the given files (paths relative to one root, `/`-separated): an edge for each relative
 * specifier that names one of them. Package and `node:` imports are outside the graph.
 */
export function importGraph(sources: ReadonlyMap<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, text] of sources) {
    const targets = importSpecifiers(text)
      .filter((s) => s.startsWith('./') || s.startsWith('../'))
      .map((s) => join(dirname(file), s))
      .filter((target) => sources.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Tarjan's strongly connected components that hold a cycle: more than one node, or one that imports itself. */
export function cyclicComponents(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components;
}

/** The shortest path from `from` to `to` through the given nodes only, both ends included; undefined if none. */
function shortestPath(graph: Graph, within: ReadonlySet<string>, from: string, to: string): string[] | undefined {
  const previous = new Map<string, string>([[from, from]]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    if (node === to) {
      const path = [to];
      while (path[0] !== from) path.unshift(previous.get(path[0]!)!);
      return path;
    }
    for (const next of graph.get(node) ?? []) {
      if (within.has(next) && !previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/**
 * Cycles covering every edge inside a component (for each edge a → b, the shortest way back from b to a), each
 * as a chain that starts and ends at its alphabetically first file, without repeats. Every edge listed is one
 * that has to go (or be reversed) to break the component.
 */
export function componentCycles(graph: Graph, component: readonly string[]): string[][] {
  const within = new Set(component);
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const from of component) {
    for (const to of graph.get(from) ?? []) {
      if (!within.has(to)) continue;
      const back = shortestPath(graph, within, to, from);
      if (back === undefined) continue;
      const ring = from === to ? [from] : back;
      const start = ring.indexOf([...ring].sort()[0]!);
      const cycle = [...ring.slice(start), ...ring.slice(0, start)];
      const key = cycle.join('\0');
      if (seen.has(key)) continue;
      seen.add(key);
      cycles.push([...cycle, cycle[0]!]);
    }
  }
  return cycles;
}

/**
 * Where the files of src/ that `from` matches may import from: nothing else of src/ than what `may` matches. Both
 * are globs over paths relative to src/ (`config/**`, `config/model*.ts`), as node:path's matchesGlob reads them.
 */
export interface FloorRule {
  from: string;
  may: readonly string[];
}

/**
 * The ground floors. The configuration model (model.ts and the model-*.ts modules it re-exports) is read by
 * everything and imports nothing but itself; the configuration readers build it from text using only each other
 * and HTTP's syntax, so loading or checking a configuration never pulls in the proxy, the server or the manager.
 * Above these, any import is allowed that makes no cycle. One exception, named so it cannot grow: the readers check
 * a LogFormat by compiling it with the access log's own compiler, until the format's grammar is parsed apart from
 * the functions that render it.
 */
export const GROUND_FLOORS: readonly FloorRule[] = [
  { from: 'config/model*.ts', may: ['config/model*.ts'] },
  { from: 'config/**', may: ['config/**', 'http/**', 'log/format.ts'] },
];

/** Each edge that leaves its floor, as `from → to: <rule>`; the first rule whose `from` matches the file applies. */
export function floorViolations(graph: Graph, rules: readonly FloorRule[]): string[] {
  const violations: string[] = [];
  for (const [from, targets] of graph) {
    const rule = rules.find((r) => matchesGlob(from, r.from));
    if (rule === undefined) continue;
    for (const to of targets) {
      if (rule.may.some((glob) => matchesGlob(to, glob))) continue;
      const allowed = rule.may.length === 0 ? 'nothing of src/' : `only ${rule.may.join(', ')}`;
      violations.push(`${from} → ${to}: ${rule.from} may import ${allowed}`);
    }
  }
  return violations.sort();
}

/** Every `.ts` and `.js` file under a directory (the entry points and the console's browser modules are JavaScript), as `/`-separated paths relative to it. */
function sourceFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(root, path);
    return /\.[tj]s$/.test(entry.name) ? [relative(root, path)] : [];
  });
}

if (import.meta.main) {
  const src = resolve(fileURLToPath(new URL('../src', import.meta.url)));
  const graph = importGraph(new Map(sourceFiles(src).map((file) => [file, readFileSync(join(src, file), 'utf8')])));
  const components = cyclicComponents(graph);
  for (const component of components) {
    console.error(`import cycle among ${component.length} files in src/:`);
    for (const cycle of componentCycles(graph, component)) console.error(`  ${cycle.join(' → ')}`);
  }
  const violations = floorViolations(graph, GROUND_FLOORS);
  for (const violation of violations) console.error(`import out of its floor: ${violation}`);
  if (components.length > 0 || violations.length > 0) process.exit(1);
  console.log(`import graph: ${graph.size} files in src/, no cycle, ground floors kept`);
}
