// src/antientropy is a protocol core: no I/O imports, no ambient time, timers or
// randomness, and imports only from other pure folders. Checked on the source text.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../../src/antientropy');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
const allowed = new Set(['../config/index.js', '../errors/index.js', '../ring/index.js', '../vclock/index.js', '../hinted-handoff/index.js', '../wire/index.js']);

describe('src/antientropy stays pure', () => {
  it('has source files to check', () => {
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'tree.ts', 'exchange.ts', 'scheduler.ts']));
  });
  it.each(files)('%s', (file) => {
    const code = readFileSync(join(dir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/from ['"]node:/);
    expect(code).not.toMatch(/\bBuffer\b/);
    expect(code).not.toMatch(/Date\.now|Math\.random|setTimeout|setInterval|performance\.now/);
    for (const m of code.matchAll(/from ['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('./')) continue;
      expect(allowed.has(spec), `${file} imports ${spec}`).toBe(true);
    }
  });
});
