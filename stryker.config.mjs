// Mutation testing (`npm run mutate`): which rules of the edge no unit test holds. Not part of `npm test`: a full
// run takes many minutes. Narrow it with `npm run mutate -- --mutate 'src/http/**/*.ts'`.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'src/http/**/*.ts',
    'src/sticky/**/*.ts',
    'src/balancer/**/*.ts',
    'src/proxy/**/*.ts',
    'src/config/native/values.ts',
    'src/config/apache/params.ts',
    'src/config/apache/values.ts',
  ],
  testRunner: 'tap',
  tap: {
    // MUTATE_TESTS narrows a run to one folder's own tests (a glob such as 'test/unit/http-*.test.ts'): a mutant
    // of a module-level table runs against every test file, which on two cores takes a minute per mutant.
    testFiles: [process.env.MUTATE_TESTS ?? 'test/unit/*.test.ts'],
    // node:test prints TAP only when asked; Node runs the instrumented .ts directly by type stripping. The
    // preload turns the compile cache on and ends a test process whose runner Stryker killed (a looping mutant).
    nodeArgs: ['--test-reporter=tap', '--import=./scripts/mutate-preload.ts', '-r', '{{hookFile}}', '{{testFile}}'],
  },
  // Instrumented code does not type-check; `tsc --noEmit` is the type check, not Stryker's job.
  disableTypeChecks: true,
  checkers: [],
  // The machine is shared: one test process at a time.
  concurrency: 1,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { reportScoreTable: true, reportMutants: true, reportTests: false },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  incrementalFile: 'reports/stryker-incremental.json',
  thresholds: { high: 85, low: 80, break: null },
  ignorePatterns: ['docs', '.stickler'],
};
