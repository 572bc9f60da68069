#!/usr/bin/env node
// `npm run sim`: the deterministic cluster simulator, from the compiled output (dist/,
// built by `npm install`). See src/sim/cli.ts for the options.
import { main } from '../dist/sim/cli.js';

process.exitCode = await main(process.argv.slice(2));
