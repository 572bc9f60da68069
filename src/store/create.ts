import { ShoalError } from '../errors/index.js';
import type { Engine, EngineName } from './engine.js';
import { LevelEngine } from './level.js';
import { MemoryBacking, MemoryEngine } from './memory.js';

/**
 * The engine for `--engine NAME` and `--data DIR`. 'memory' ignores the location (and
 * keeps nothing across restarts): for tests and throwaway nodes only.
 */
export function createEngine(name: string, location: string): Engine {
  switch (name as EngineName) {
    case 'classic-level':
    case 'rocksdb':
      return new LevelEngine({ engine: name as 'classic-level' | 'rocksdb', location });
    case 'memory':
      return new MemoryEngine(new MemoryBacking());
    default:
      throw new ShoalError('INVALID_CONFIG', `unknown storage engine ${JSON.stringify(name)} (use classic-level or rocksdb)`);
  }
}
