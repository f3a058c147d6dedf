#!/usr/bin/env node
// Node 26 runs the TypeScript sources directly (type stripping, cached on disk), so there is no build step.
import '../src/cli.js';
