/**
 * Entry point of the `shoal` command (bin/shoal calls `main`). See index.ts for the essay.
 */
import { ShoalError } from '../errors/index.js';
import { runBench } from './bench.js';
import { runDel, runExplain, runGet, runLeave, runPut, runRing, runStatus } from './commands.js';
import { runDev } from './dev.js';
import { EXIT, processIo, type CliIo } from './io.js';
import { runStart } from './start.js';
import { HELP, USAGE } from './usage.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: (argv, io) => runStart(argv, io),
  dev: (argv, io) => runDev(argv, io),
  get: runGet,
  put: runPut,
  del: runDel,
  status: runStatus,
  ring: runRing,
  explain: runExplain,
  leave: runLeave,
  bench: runBench,
};

/** Runs one command; returns the process exit code (0 ok, 1 failed, 2 usage, 3 siblings, 4 not found). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? argv[1] : undefined;
    io.stdout.write(topic !== undefined && HELP[topic] !== undefined ? HELP[topic] : USAGE);
    return EXIT.ok;
  }
  const run = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (run === undefined) {
    io.stderr.write(`shoal: unknown command '${cmd}'\n\n${USAGE}`);
    return EXIT.usage;
  }
  const rest = argv.slice(1);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(HELP[cmd] ?? USAGE);
    return EXIT.ok;
  }
  try {
    return await run(rest, io);
  } catch (err) {
    if (err instanceof ShoalError && err.code === 'INVALID_CONFIG') {
      io.stderr.write(`shoal ${cmd}: ${err.message}\nRun 'shoal ${cmd} --help' for its flags.\n`);
      return EXIT.usage;
    }
    if (err instanceof ShoalError) {
      io.stderr.write(`shoal ${cmd}: ${err.wireCode}: ${err.message}\n`);
      return EXIT.failed;
    }
    io.stderr.write(`shoal ${cmd}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failed;
  }
}
