import type { CliIo } from '../../src/cli/index.js';

export interface CapturedIo extends CliIo {
  out(): string;
  outBytes(): Uint8Array;
  err(): string;
}

/** An in-memory CliIo: captures stdout/stderr; stdin yields the given chunks. */
export function captureIo(options: { stdin?: Array<string | Uint8Array>; env?: Record<string, string>; cwd?: string } = {}): CapturedIo {
  const out: Uint8Array[] = [];
  const err: string[] = [];
  const enc = new TextEncoder();
  return {
    stdout: { write: (c: string | Uint8Array) => out.push(typeof c === 'string' ? enc.encode(c) : new Uint8Array(c)) },
    stderr: { write: (c: string) => err.push(c) },
    stdin: (async function* () {
      for (const c of options.stdin ?? []) yield c;
    })(),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    out: () => Buffer.concat(out).toString('utf8'),
    outBytes: () => new Uint8Array(Buffer.concat(out)),
    err: () => err.join(''),
  };
}
