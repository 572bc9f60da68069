/**
 * `npm run bench:flame -- FILE.cpuprofile [OUT.svg] [--title TEXT]`: draws a flame graph
 * (SVG) of a profile that `node --cpu-prof` wrote, e.g. of a node started with
 * `node --cpu-prof bin/shoal start ...`. bench:compare draws docs/flame.svg this way.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { flameSvg, type CpuProfile } from './lib/profile.js';

const { values: f, positionals } = parseArgs({ options: { title: { type: 'string' } }, allowPositionals: true });
const [input, output] = positionals;
if (input === undefined) {
  console.error('usage: npm run bench:flame -- FILE.cpuprofile [OUT.svg] [--title TEXT]');
  process.exit(2);
}
let profile: CpuProfile;
try {
  profile = JSON.parse(readFileSync(input, 'utf8')) as CpuProfile;
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples)) throw new Error('no nodes or samples: not a .cpuprofile');
} catch (err) {
  console.error(`bench:flame: cannot read ${input}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const out = output ?? input.replace(/\.cpuprofile$/, '') + '.svg';
writeFileSync(out, flameSvg(profile, f.title ?? basename(input)));
console.error(`wrote ${out}`);
