// The import-graph check run by `npm test`: which specifiers a file imports, the cycles among files, the floors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GROUND_FLOORS, componentCycles, cyclicComponents, floorViolations, importGraph, importSpecifiers, type Graph } from '../../scripts/import-graph.ts';

test('every kind of import counts, type-only and dynamic included; comments and strings do not', () => {
  const text = [
    "import type { A } from './a.ts';",
    "import './side.ts';",
    "export * from '../b.ts';",
    'export { c } from "./c.ts";',
    "// import { no } from './line-comment.ts';",
    "/* import('./block-comment.ts') */",
    `const s = "import('./string.ts')";`,
    "const t = `${s} require('./template.ts')`;",
    'const quote = /\'/;',
    "const f = (require('./required.ts') as typeof import('./typeof.ts')).f;",
    "await import('./dynamic.ts');",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text), ['./a.ts', './side.ts', '../b.ts', './c.ts', './required.ts', './typeof.ts', './dynamic.ts', 'node:fs']);
});

test('relative specifiers resolve against the importing file; packages and files outside the set are left out', () => {
  const graph = importGraph(new Map([
    ['config/model.ts', "import { x } from 'yaml';"],
    ['config/apache/load.ts', "import type { M } from '../model.ts';\nimport './parse.ts';\nimport '../../../outside.ts';"],
    ['config/apache/parse.ts', "import { M } from '../model.ts'; import { N } from '../model.ts';"],
  ]));
  assert.deepEqual(Object.fromEntries(graph), {
    'config/model.ts': [],
    'config/apache/load.ts': ['config/model.ts', 'config/apache/parse.ts'],
    'config/apache/parse.ts': ['config/model.ts'],
  });
});

const graphOf = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

test('each component with a cycle, and chains covering each of its edges', () => {
  const graph = graphOf({
    'manager/handler.ts': ['server/runtime.ts', 'http/head.ts'],
    'server/runtime.ts': ['manager/handler.ts', 'config/model.ts'],
    'config/model.ts': [],
    'http/head.ts': [],
    'a.ts': ['b.ts'],
    'b.ts': ['c.ts', 'a.ts'],
    'c.ts': ['a.ts'],
    'self.ts': ['self.ts'],
  });
  assert.deepEqual(cyclicComponents(graph), [['a.ts', 'b.ts', 'c.ts'], ['manager/handler.ts', 'server/runtime.ts'], ['self.ts']]);
  assert.deepEqual(componentCycles(graph, ['manager/handler.ts', 'server/runtime.ts']), [['manager/handler.ts', 'server/runtime.ts', 'manager/handler.ts']]);
  assert.deepEqual(componentCycles(graph, ['a.ts', 'b.ts', 'c.ts']), [['a.ts', 'b.ts', 'a.ts'], ['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  assert.deepEqual(componentCycles(graph, ['self.ts']), [['self.ts', 'self.ts']]);
});

test('the floors: a file imports nothing, a folder only itself and http/; the first rule that matches applies', () => {
  const rules = [{ from: 'config/model.ts', may: [] }, { from: 'config/**', may: ['config/**', 'http/**'] }];
  const graph = graphOf({
    'config/model.ts': ['http/syntax.ts'],
    'config/apache/parse.ts': ['config/model.ts', 'http/syntax.ts', 'proxy/ip.ts'],
    'proxy/ip.ts': ['config/model.ts', 'server/server.ts'],
  });
  assert.deepEqual(floorViolations(graph, rules), [
    'config/apache/parse.ts → proxy/ip.ts: config/** may import only config/**, http/**',
    'config/model.ts → http/syntax.ts: config/model.ts may import nothing of src/',
  ]);
});

test("the project's floors: the model's modules import only each other, the readers anything of config/", () => {
  const graph = graphOf({
    'config/model.ts': ['config/model-tls.ts', 'config/model-units.ts'],
    'config/model-tls.ts': ['config/model-units.ts', 'config/tls-profile.ts', 'http/syntax.ts'],
    'config/model-units.ts': [],
    'config/tls-profile.ts': ['config/model.ts', 'config/model-tls.ts', 'http/syntax.ts', 'log/format.ts', 'log/access.ts'],
    'config/native/tls.ts': ['config/model-tls.ts'],
    'server/runtime.ts': ['config/model-tls.ts', 'proxy/ip.ts'],
  });
  assert.deepEqual(floorViolations(graph, GROUND_FLOORS), [
    'config/model-tls.ts → config/tls-profile.ts: config/model*.ts may import only config/model*.ts',
    'config/model-tls.ts → http/syntax.ts: config/model*.ts may import only config/model*.ts',
    'config/tls-profile.ts → log/access.ts: config/** may import only config/**, http/**, log/format.ts',
  ]);
});

/** A random graph over `n` numbered files: `forward` keeps only edges to higher numbers, which cannot close a cycle. */
const graphs = (forward: boolean) => fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 40 }).map((pairs) => {
    const graph = new Map<string, string[]>(Array.from({ length: n }, (_, i) => [`f${i}.ts`, []]));
    for (const [a, b] of pairs) if (!forward || a < b) graph.get(`f${a}.ts`)!.push(`f${b}.ts`);
    return graph;
  }));

function reachable(graph: Graph, from: string): Set<string> {
  const seen = new Set<string>();
  const queue = [...(graph.get(from) ?? [])];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(graph.get(next) ?? []));
  }
  return seen;
}

test('a graph whose edges all go forward has no cycle; one edge back along a path makes one through both ends', () => {
  fc.assert(fc.property(graphs(true), (graph) => {
    assert.deepEqual(cyclicComponents(graph), []);
    for (const [from] of graph) {
      for (const to of reachable(graph, from)) {
        const back = new Map(graph);
        back.set(to, [...graph.get(to)!, from]);
        const components = cyclicComponents(back);
        assert.equal(components.length, 1);
        assert.ok(components[0]!.includes(from) && components[0]!.includes(to));
      }
    }
  }));
});

test('components are exactly the sets of mutually reachable files, and every chain printed is a real cycle', () => {
  fc.assert(fc.property(graphs(false), (graph) => {
    const components = cyclicComponents(graph);
    const componentOf = new Map(components.flatMap((c) => c.map((file) => [file, c] as const)));
    for (const [a] of graph) {
      const fromA = reachable(graph, a);
      for (const [b] of graph) {
        const mutual = fromA.has(b) && reachable(graph, b).has(a);
        assert.equal(mutual, componentOf.get(a) !== undefined && componentOf.get(a) === componentOf.get(b), `${a} ${b}`);
      }
    }
    for (const component of components) {
      const cycles = componentCycles(graph, component);
      const covered = new Set<string>();
      for (const cycle of cycles) {
        assert.equal(cycle[0], cycle.at(-1));
        for (let i = 0; i + 1 < cycle.length; i++) {
          assert.ok(graph.get(cycle[i]!)!.includes(cycle[i + 1]!), `${cycle[i]} → ${cycle[i + 1]}`);
          covered.add(`${cycle[i]} ${cycle[i + 1]}`);
        }
      }
      for (const from of component) for (const to of graph.get(from)!) if (component.includes(to)) assert.ok(covered.has(`${from} ${to}`));
    }
  }));
});
