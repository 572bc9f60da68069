// src/vclock is a protocol core and is bundled into the browser SDK: no Node-only imports,
// no Buffer, no ambient time or randomness. Checked on the source text.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../../src/vclock');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

describe('src/vclock stays pure and browser-safe', () => {
  it('has source files to check', () => {
    expect(files).toContain('index.ts');
  });
  it.each(files)('%s', (file) => {
    const code = readFileSync(join(dir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/from ['"]node:/);
    expect(code).not.toMatch(/from ['"](ws|classic-level|@nxtedition\/rocksdb)['"]/);
    expect(code).not.toMatch(/\bBuffer\b/);
    expect(code).not.toMatch(/Date\.now|Math\.random|setTimeout|setInterval/);
  });
});
