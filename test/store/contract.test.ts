import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelEngine, MemoryBacking, MemoryEngine } from '../../src/store/index.js';
import { storeContract, type EngineHarness, type Location } from './contract.js';

function memoryHarness(): EngineHarness {
  return {
    name: 'MemoryEngine',
    async fresh(): Promise<Location> {
      const backing = new MemoryBacking();
      return { engine: () => new MemoryEngine(backing) };
    },
    async cleanup(): Promise<void> {},
  };
}

function levelHarness(engine: 'classic-level' | 'rocksdb'): EngineHarness {
  let root: string | undefined;
  let n = 0;
  return {
    name: engine,
    async fresh(): Promise<Location> {
      root ??= await mkdtemp(join(tmpdir(), `shoal-store-${engine}-`));
      const location = join(root, `db${n++}`);
      return { engine: () => new LevelEngine({ engine, location }) };
    },
    async cleanup(): Promise<void> {
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

storeContract(memoryHarness());
storeContract(levelHarness('classic-level'));
storeContract(levelHarness('rocksdb'));
