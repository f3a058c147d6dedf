// Maps a key path (`['balancers', 'wso2', 'members', 1, 'loadfactor']`) back to its line in the YAML text,
// and names it the way a human would type it (`balancers.wso2.members[1].loadfactor`).

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type KeyPath = readonly PropertyKey[];

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(top level)' : out;
}

export class Locator {
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  lineOfOffset(offset: number): number {
    return this.#lines.linePos(offset).line;
  }

  /**
   * The line of the deepest node along `path` that exists. A mapping entry points at its key, so
   * `balancers.wso2` is the line that says `wso2:`, not the first line of its body; a missing key points at
   * the mapping that lacks it.
   */
  lineOf(path: KeyPath): number {
    let node: unknown = this.#doc.contents;
    let line = node && hasRange(node) ? this.lineOfOffset(node.range[0]) : 1;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.#doc);
      let next: unknown;
      let at: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === String(segment));
        next = pair?.value;
        at = pair?.key;
      } else if (isSeq(node) && typeof segment === 'number') {
        next = at = node.items[segment];
      }
      if (!at || !hasRange(at)) break;
      line = this.lineOfOffset(at.range[0]);
      node = next;
    }
    return line;
  }
}

function hasRange(node: unknown): node is Node & { range: [number, number, number] } {
  return typeof node === 'object' && node !== null && Array.isArray((node as { range?: unknown }).range);
}
