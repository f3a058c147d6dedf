// Case-insensitive field-name matching (RFC 9110 §5.1) without lower-casing every name. The request path asks
// "is this one of those names?" of every field in both directions; toLowerCase allocates a string for each
// mixed-case name (most of them) and a Set lookup then hashes it, while a length check and a compare that stops
// at the first differing character answer most questions with no allocation at all.

/**
 * `name.toLowerCase() === lower`, for a `lower` that is already lower-case and within latin1 (every name asked
 * about here: constants, and tokens from latin1-decoded heads). ASCII letters are folded in place; the first
 * non-ASCII difference falls back to toLowerCase itself, so exotic case mappings (the Kelvin sign is `k`) agree.
 * Lengths are compared first: lower-casing changes the length only of U+0130, whose lower-case form is not latin1.
 */
export function equalsLowerCase(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const a = name.charCodeAt(i);
    const b = lower.charCodeAt(i);
    if (foldsTo(a, b)) continue;
    return a > 0x7f && name.toLowerCase() === lower;
  }
  return true;
}

/** Whether `name` begins with `lowerPrefix`, an ASCII lower-case prefix, in any ASCII case. */
export function startsWithLowerCase(name: string, lowerPrefix: string): boolean {
  if (name.length < lowerPrefix.length) return false;
  for (let i = 0; i < lowerPrefix.length; i++) if (!foldsTo(name.charCodeAt(i), lowerPrefix.charCodeAt(i))) return false;
  return true;
}

/** Character code `a` is `b`, or its ASCII upper-case form. */
function foldsTo(a: number, b: number): boolean {
  return a === b || (a >= 0x41 && a <= 0x5a && a + 0x20 === b);
}

/** Past this many names of one length, a lookup lower-cases and hashes instead of comparing with each. */
const MAX_COMPARED = 4;

/** A set of field names, asked about names in any case. */
export class FieldNameSet {
  /** The lower-case names by length: a name is only ever compared with names as long as itself. */
  private readonly byLength: string[][] = [];
  private readonly names = new Set<string>();

  constructor(names: Iterable<string>) {
    for (const name of names) {
      const lower = name.toLowerCase();
      if (this.names.has(lower)) continue;
      this.names.add(lower);
      (this.byLength[lower.length] ??= []).push(lower);
    }
  }

  get size(): number {
    return this.names.size;
  }

  /** The set's lower-case spelling of `name`, or undefined when `name`, in any case, is not in the set. */
  find(name: string): string | undefined {
    const bucket = name.length < this.byLength.length ? this.byLength[name.length] : undefined;
    if (bucket === undefined) return undefined;
    // A Connection field can list thousands of names of one length; hashing keeps that linear.
    if (bucket.length > MAX_COMPARED) {
      const lower = name.toLowerCase();
      return this.names.has(lower) ? lower : undefined;
    }
    for (let i = 0; i < bucket.length; i++) if (equalsLowerCase(name, bucket[i]!)) return bucket[i];
    return undefined;
  }

  has(name: string): boolean {
    return this.find(name) !== undefined;
  }
}
