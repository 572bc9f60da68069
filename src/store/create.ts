import { existsSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  storeOpenFilesMax,
  storeOpenFilesMemoryShare,
  storeOpenFilesUnlimited,
  storeTableFileBytes,
  storeValueLogPrewarmBytesMax,
  storeValueLogPrewarmMemoryShare,
} from '../config/index.js';
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
  /**
   * With the value log on: it is also the write-ahead log (src/store/vlog.ts, Write-ahead),
   * for `--sync`: each batch costs one fsync, of the log, instead of one of the log and
   * one of the engine's. Default false.
   */
  readonly wal?: boolean;
  /** Memory available (default availableMemoryBytes()), which bounds the value log's read-back after a start. */
  readonly availableMemoryBytes?: number;
  /** Most bytes of that read-back (default storeValueLogPrewarmBytesMax; 0 = none). */
  readonly prewarmBytesMax?: number;
  /**
   * The node's soft memory limit, bytes (0 = none), which sizes the engine's open table
   * files (openTablesFor). Default: storeOpenFilesMax open files, as at the default limit.
   */
  readonly memorySoftLimitBytes?: number;
}

/**
 * Table files the engine keeps open under a soft memory limit of `limitBytes` (0 = none):
 * LevelDB maps each open table, and its touched pages count as resident, so the tables
 * may take storeOpenFilesMemoryShare of the limit, never fewer than storeOpenFilesMax; with
 * no limit, the library's own default.
 */
export function openTablesFor(limitBytes: number): number {
  if (!(limitBytes > 0)) return storeOpenFilesUnlimited;
  const tables = Math.floor((limitBytes * storeOpenFilesMemoryShare) / storeTableFileBytes);
  return Math.min(storeOpenFilesUnlimited, Math.max(storeOpenFilesMax, tables));
}

/**
 * Memory the kernel reports available, within the process's cgroup limit when it has one
 * (in a container, page cache counts against the container's memory).
 */
export function availableMemoryBytes(): number {
  const free = freemem();
  const limit = process.constrainedMemory?.();
  // Unconstrained, Node reports 0 or the largest 64-bit number.
  if (limit === undefined || !(limit > 0) || limit >= totalmem()) return free;
  return Math.min(free, limit);
}

/** Bytes of value log to read back into the page cache at a start (see storeValueLogPrewarmBytesMax). */
export function prewarmBudget(availableMemoryBytes: number, max: number = storeValueLogPrewarmBytesMax): number {
  const share = Math.floor(Math.max(0, availableMemoryBytes) * storeValueLogPrewarmMemoryShare);
  return Math.max(0, Math.min(max, share));
}

/**
 * The engine for `--engine NAME` and `--data DIR`. 'memory' ignores the location (and
 * keeps nothing across restarts): for tests and throwaway nodes only.
 */
export function createEngine(name: string, location: string, options: CreateEngineOptions = {}): Engine {
  switch (name as EngineName) {
    case 'classic-level':
    case 'rocksdb': {
      const maxOpenFiles = options.memorySoftLimitBytes === undefined ? storeOpenFilesMax : openTablesFor(options.memorySoftLimitBytes);
      const level = new LevelEngine({ engine: name as 'classic-level' | 'rocksdb', location, maxOpenFiles });
      const dir = join(location, 'vlog');
      const prewarmBytes = prewarmBudget(options.availableMemoryBytes ?? availableMemoryBytes(), options.prewarmBytesMax);
      if (options.valueLog === true) return new ValueLogEngine(level, { dir, prewarmBytes, wal: options.wal === true });
      // Off, over a directory that had it on: its pointers must still resolve, so the log
      // stays open for reads and nothing new is written to it.
      return existsSync(dir) ? new ValueLogEngine(level, { dir, minBytes: Infinity, prewarmBytes }) : level;
    }
    case 'memory':
      return new MemoryEngine(new MemoryBacking());
    default:
      throw new ShoalError('INVALID_CONFIG', `unknown storage engine ${JSON.stringify(name)} (use classic-level or rocksdb)`);
  }
}
