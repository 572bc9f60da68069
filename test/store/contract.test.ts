import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelEngine, MemoryBacking, MemoryEngine, ValueLogEngine } from '../../src/store/index.js';
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

function levelHarness(engine: 'classic-level' | 'rocksdb', valueLog = false, wal = false): EngineHarness {
  let root: string | undefined;
  let n = 0;
  return {
    name: valueLog ? `value log${wal ? ' (write-ahead)' : ''} over ${engine}` : engine,
    async fresh(): Promise<Location> {
      root ??= await mkdtemp(join(tmpdir(), `shoal-store-${engine}-`));
      const location = join(root, `db${n++}`);
      if (!valueLog) return { engine: () => new LevelEngine({ engine, location }) };
      // Every object in the log, segments of a few records, and collection after every
      // write that leaves garbage: the whole contract runs with pointers, rotations and
      // moves happening underneath it.
      return {
        engine: () =>
          new ValueLogEngine(new LevelEngine({ engine, location }), {
            dir: join(location, 'vlog'),
            minBytes: 1,
            segmentBytes: 512,
            collectFloorBytes: 0,
            collectGarbageRatio: 0.01,
            collectChunkBytes: 256,
            wal,
            // As the write-ahead log, a checkpoint every few batches too.
            checkpointBytes: 2048,
          }),
      };
    },
    async cleanup(): Promise<void> {
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

storeContract(memoryHarness());
storeContract(levelHarness('classic-level'));
storeContract(levelHarness('rocksdb'));
storeContract(levelHarness('classic-level', true));
storeContract(levelHarness('classic-level', true, true));
