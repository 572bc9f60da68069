/**
 * What the CLI needs from its process, injected so tests drive `main` without spawning.
 */
export interface CliIo {
  stdout: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown };
  stdin: AsyncIterable<string | Uint8Array>;
  env: Record<string, string | undefined>;
  /** Working directory for relative paths (`--data`, files). */
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** Exit codes of every command (documented in `shoal --help`). */
export const EXIT = {
  ok: 0,
  /** The operation failed: the server answered an error, or was unreachable. */
  failed: 1,
  /** Bad command line or configuration. */
  usage: 2,
  /** `get` found concurrent siblings (all printed). */
  siblings: 3,
  /** `get` found nothing live. */
  notFound: 4,
} as const;
