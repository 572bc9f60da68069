/** Entry point of the `shoal` command (see bin/shoal). Returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write(`shoal: the '${cmd}' command arrives with the running-cluster work; see README.md\n`);
  return 2;
}

const USAGE = `usage: shoal <command> [flags]

commands:
  start     run one node
  dev       run a local cluster of separate node processes
  get KEY   read a key
  put KEY VALUE   write a key (VALUE '-' reads standard input)
  del KEY   delete a key
  status    cluster members, hints and transfers
  ring      partition owners
  bench     load generator

Run 'shoal <command> --help' for the flags of one command.
`;
