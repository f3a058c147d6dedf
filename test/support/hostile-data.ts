// Outside data for property tests of the readers that take it (the manager's edits and state file, both
// configuration formats): JSON whose keys include the names every object inherits, and a check that what a
// reader returned holds plain data only.
import fc from 'fast-check';

/** Names found on every object through its prototype: a reader that looks them up with `in` or `obj[key]` finds them. */
export const INHERITED_NAMES = [
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable',
  'toLocaleString', '__defineGetter__', '__lookupGetter__',
] as const;

/**
 * JSON text (so `__proto__` arrives as JSON.parse makes it, an own key) built from `keys` (the fields a reader
 * knows), inherited names and arbitrary strings, with `leaves` among the values, nested a few levels deep.
 */
export function hostileJson(keys: readonly string[], leaves: readonly unknown[] = []): fc.Arbitrary<string> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, fc.constantFrom(...INHERITED_NAMES), fc.string({ maxLength: 6 }));
  const leaf = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...leaves, true, false, null, 0, 1, 99, 100, -1, 1.5, '', 'x').map((v) => JSON.stringify(v)) },
    fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)),
  );
  const { value } = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, leaf, tie('object'), tie('array')),
    object: fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }).map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    array: fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
  }));
  return value;
}

/** Where `value` holds something that is not plain data (a function, a class instance, a getter, a symbol), or undefined. */
export function nonData(value: unknown, path = '$', seen = new Set<object>()): string | undefined {
  if (value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value)) return undefined;
  if (typeof value !== 'object') return `${path} is a ${typeof value}`;
  if (seen.has(value)) return undefined;
  seen.add(value);
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== Array.prototype && prototype !== null) return `${path} is an instance of ${(value as object).constructor?.name ?? 'something'}`;
  for (const key of Reflect.ownKeys(value)) {
    const at = `${path}[${String(key)}]`;
    if (typeof key === 'symbol') return `${at} has a symbol key`;
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    if (!('value' in descriptor)) return `${at} is a getter`;
    const problem = nonData(descriptor.value, at, seen);
    if (problem) return problem;
  }
  return undefined;
}
