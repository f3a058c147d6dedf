// A health-check regular expression's automaton, built whole when the configuration is read. RE2 (re2js) matches in
// linear time, but builds its DFA lazily, a state at a time, from the text it meets: the first check of a pattern with
// nested counted repeats spent up to half a second on a 64 KiB body building states, and a body with new text could
// cost as much again at any later check, on the thread that also serves traffic. Built here instead, every state a
// check can reach exists before the first check, and a check only follows the automaton's table: a lookup per
// character, whatever the pattern and the body. A pattern whose automaton costs too much to build is refused, with
// the configuration's file:line like any other refusal.
//
// re2js 2.10.0 (pinned) declares the members used here in its types but documents none of them: its RE2 object's DFA,
// `start` and `step`. The property tests of health expressions compare every match against JavaScript's engine, so a
// re2js that changed them fails there.
import type { RE2JS } from 're2js';

/** RE2's program size (instructions): ten times the largest pattern a health check plausibly needs, such as a UUID. */
export const MAX_PROGRAM_SIZE = 500;

/**
 * What building an automaton may cost, in NFA states visited (each transition visits those of the state it leaves
 * and of the state it reaches, plus TRANSITION_WORK). Measured on this project's 2-core machine under load: 15 to 75 ns
 * each, so at most about 30 ms at load. `"status"\s*:\s*"UP"` costs 6,500, `<title>[^<]{0,200}</title>` 85,000,
 * `(?:[a-z0-9 ]{1,9}[a-z]){1,2}$` 339,000 (accepted); `(?:[a-z0-9 ]{1,9}[a-z]){1,5}$` 4.2 million (refused).
 */
export const MAX_BUILD_WORK = 400_000;

/** What a transition costs beside the NFA states it visits (hashing, allocating), in the same unit: measured. */
const TRANSITION_WORK = 16;

/** re2js's anchor for a search anywhere in the text, the one `test` uses. */
const UNANCHORED = 0;
/** RE2's empty-width flag for the beginning of the text (as Go's syntax.EmptyBeginText): where every check starts. */
const BEGIN_TEXT = 4;
/** The rune re2js's DFA steps on at the end of the text, under the class index one past the rune classes. */
const END_OF_TEXT = -1;

interface DfaState {
  isMatch: boolean;
  nfaStates: number[];
}

/** Builds every automaton state a check of `regex` can reach, or says why the pattern is refused. */
export function buildAutomaton(regex: RE2JS): string | undefined {
  const size = regex.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    return `its RE2 program has ${size} instructions, over the limit of ${MAX_PROGRAM_SIZE}`;
  }
  // The prefilter's automaton, if any, is built at its first use too.
  regex.test('');
  const re2 = regex.re2Input;
  // A literal prefix or a one-pass program is matched without the DFA, in linear time, with nothing built lazily.
  if (re2.prefixComplete || re2.onepass !== null) return undefined;
  const dfa = re2.dfa;
  const start: DfaState | null = dfa.start({ context: () => BEGIN_TEXT }, 0);
  const seen = new Set<DfaState>();
  const pending: DfaState[] = [];
  let work = 0;
  const reach = (state: DfaState | null): boolean => {
    if (state === null) return false;
    if (!seen.has(state)) {
      seen.add(state);
      pending.push(state);
    }
    return true;
  };
  let fits = reach(start);
  while (fits && pending.length > 0) {
    const state = pending.pop()!;
    // A check stops at the first state that matches: nothing after it is ever needed.
    if (state.isMatch) continue;
    for (let cls = 0; fits && cls <= dfa.numClasses; cls++) {
      const atEnd = cls === dfa.numClasses;
      // Any rune of a class leads to the same state (re2js caches a step by class alike); its lowest one stands for it.
      const rune = atEnd ? END_OF_TEXT : cls === 0 ? 0 : dfa.classBounds[cls - 1]!;
      const next: DfaState | null = dfa.step(state, cls, rune, UNANCHORED);
      work += TRANSITION_WORK + state.nfaStates.length + (next?.nfaStates.length ?? 0);
      // The end of the text leads nowhere further; a step that does not fit re2js's own memory budget is refused too.
      fits = work <= MAX_BUILD_WORK && (atEnd ? next !== null : reach(next));
    }
  }
  if (fits) return undefined;
  return `its automaton, built when the configuration is read, would take over ${MAX_BUILD_WORK} steps (stopped at ${seen.size} states)`;
}
