import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ShoalError } from '../errors/index.js';
import type { Engine, EngineName } from './engine.js';
import { LevelEngine } from './level.js';
import { MemoryBacking, MemoryEngine } from './memory.js';
import { ValueLogEngine } from './vlog.js';

export interface CreateEngineOptions {
  /**
   * Keep large objects in a value log beside the engine (src/store/vlog.ts), in
   * `<location>/vlog`. Default false here; a node turns it on (SHOAL_VALUE_LOG). When
   * false over a location whose log exists, the log is still opened, for reads only.
   * 'memory' ignores it.
   */
  readonly valueLog?: boolean;
}

/**
 * The engine for `--engine NAME` and `--data DIR`. 'memory' ignores the location (and
 * keeps nothing across restarts): for tests and throwaway nodes only.
 */
export function createEngine(name: string, location: string, options: CreateEngineOptions = {}): Engine {
  switch (name as EngineName) {
    case 'classic-level':
    case 'rocksdb': {
      const level = new LevelEngine({ engine: name as 'classic-level' | 'rocksdb', location });
      const dir = join(location, 'vlog');
      if (options.valueLog === true) return new ValueLogEngine(level, { dir });
      // Off, over a directory that had it on: its pointers must still resolve, so the log
      // stays open for reads and nothing new is written to it.
      return existsSync(dir) ? new ValueLogEngine(level, { dir, minBytes: Infinity }) : level;
    }
    case 'memory':
      return new MemoryEngine(new MemoryBacking());
    default:
      throw new ShoalError('INVALID_CONFIG', `unknown storage engine ${JSON.stringify(name)} (use classic-level or rocksdb)`);
  }
}
