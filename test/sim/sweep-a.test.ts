import { describe, it } from 'vitest';
import { halfSeeds, sweep } from './sweep.js';

describe('simulator sweep, first half', () => {
  const seeds = halfSeeds(0);
  it(`holds every invariant on seeds ${seeds[0]}..${seeds[seeds.length - 1]}`, () => sweep(seeds), 600_000);
});
