/**
 * What the node's background mechanisms (transfers, anti-entropy, tombstone reaping)
 * get from the node: one small interface, built once by `ShoalNode`, so each mechanism
 * can be driven alone in tests with a fake.
 */
import type { Env } from '../env/index.js';
import type { ObjectStore } from '../store/index.js';
import type { DVVSet } from '../vclock/types.js';
import type { PeerMessage } from '../wire/messages.js';
import type { Logger } from './log.js';

export interface NodeServices {
  readonly id: string;
  readonly partitions: number;
  readonly env: Env;
  readonly store: ObjectStore;
  readonly log: Logger;
  /** Whether a request may go to `node` now (gossip says up and its circuit is closed). */
  reachable(node: string): boolean;
  /** A request to a peer; an `err` answer rejects with its ShoalError. */
  request(to: string, msg: PeerMessage, timeoutMs: number): Promise<PeerMessage>;
  /** Merges an object into the local copy through the replica write path. */
  merge(partition: number, key: string, obj: DVVSet): Promise<void>;
}
