/**
 * Everything `shoal start` configures, after parsing and validation (src/cli parses the
 * flags of CONTRACT.md into this; the simulator builds it directly).
 */
export interface NodeOptions {
  /** Node id, unique in the cluster and stable across restarts (default HOST:PORT). */
  id: string;
  /** Listen address, and the source address of every outgoing peer connection. */
  host: string;
  /** The one TCP port (0 = pick a free one; the node reports the one it got). */
  port: number;
  /** Storage directory. */
  dataDir: string;
  /** Seeds as HOST:PORT. */
  seeds: string[];
  /** Cluster secret (from --secret-file or SHOAL_SECRET); undefined = loopback-only insecure mode. */
  secret: string | undefined;
  /** Client bearer token (from --client-token-file); undefined = no client auth. */
  clientToken: string | undefined;
  n: number;
  r: number;
  w: number;
  partitions: number;
  maxValueBytes: number;
  tls: { cert: string; key: string } | undefined;
  engine: 'classic-level' | 'rocksdb';
  /** fsync (with group commit) before a replica acknowledges. */
  sync: boolean;
  clockOffsetMs: number;
  /** Allowed browser Origins for /v1/ws and the dashboard; empty = same-origin only. */
  allowedOrigins: string[];
  /** Tombstones are reaped no sooner than this after the delete, ms (undefined = the default). */
  tombstoneGraceMs?: number;
  /**
   * Soft limit on the process's resident memory, bytes (src/node/memory.ts); undefined or
   * 0 = off. It tunes V8 process-wide, so only one node per process may set it.
   */
  memorySoftLimitBytes?: number;
  /** Objects in the store's read cache (undefined = storeCacheEntriesMax, 0 = no cache). */
  cacheEntriesMax?: number;
  /** Large objects kept in a value log beside LevelDB (src/store/vlog.ts); undefined = on (with `sync` too). */
  valueLog?: boolean;
  /** Most value-log bytes read back into the page cache at the start (SHOAL_VALUE_LOG_PREWARM_MB; undefined = storeValueLogPrewarmBytesMax). */
  valueLogPrewarmBytes?: number;
  /** Start without the actor memory a clean stop saved (SHOAL_FORGET_ACTORS=1; src/node/actors.ts). */
  forgetActors?: boolean;
}
