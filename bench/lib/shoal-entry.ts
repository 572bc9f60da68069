/**
 * `bin/shoal` for benchmarks that compile their own copy of the sources (bench:growth):
 * the nodes then run the build the script was compiled with, not whatever dist/ holds
 * while other work rebuilds it.
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
