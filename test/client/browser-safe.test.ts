import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');

/** Every source file reachable from `entry` through relative imports, with the bare specifiers each imports. */
function reachable(entry: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (out.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g)].map(
      (m) => m[1] ?? m[2] ?? m[3] ?? '',
    );
    const bare: string[] = [];
    for (const spec of specs) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.push(spec);
    }
    out.set(file, bare);
  }
  return out;
}

/** Source without comments, so an essay that mentions `node:` or Buffer does not count. */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('the browser entry (src/client/index.ts)', () => {
  const files = reachable(join(root, 'src', 'client', 'index.ts'));

  it('reaches the SDK, wire, errors and config, but not the Node entry', () => {
    const names = [...files.keys()].map((f) => relative(root, f));
    expect(names).toContain('src/client/client.ts');
    expect(names).toContain('src/wire/index.ts');
    expect(names).toContain('src/errors/index.ts');
    expect(names).not.toContain('src/client/node.ts');
  });

  it('imports no node: module and not ws', () => {
    for (const [file, bare] of files) {
      for (const spec of bare) {
        expect(spec.startsWith('node:'), `${relative(root, file)} imports ${spec}`).toBe(false);
        expect(spec === 'ws' || spec.startsWith('ws/'), `${relative(root, file)} imports ${spec}`).toBe(false);
        expect(['fs', 'net', 'http', 'https', 'crypto', 'path', 'os', 'child_process', 'buffer', 'events', 'stream'], `${relative(root, file)} imports ${spec}`).not.toContain(spec);
      }
    }
  });

  it('uses no Buffer, process or require', () => {
    for (const file of files.keys()) {
      const src = code(file);
      expect(/\bBuffer\b/.test(src), `${relative(root, file)} uses Buffer`).toBe(false);
      expect(/\bprocess\./.test(src), `${relative(root, file)} uses process`).toBe(false);
      expect(/\brequire\(/.test(src), `${relative(root, file)} uses require`).toBe(false);
    }
  });

  it('the checker itself catches a node: import (sanity)', () => {
    const node = reachable(join(root, 'src', 'client', 'node.ts'));
    expect([...node.values()].flat()).toContain('ws');
  });
});
