/**
 * Cluster-wide defaults from CONTRACT.md. N and the partition count must agree on every
 * node; the gossip handshake refuses a node whose values differ.
 */

/** Replication factor: copies of each key (Dynamo's and Riak's default). */
export const nDefault = 3;
/** Read quorum default: a majority of N, so a read overlaps the last quorum write. */
export const rDefault = 2;
/** Write quorum default: a majority of N. */
export const wDefault = 2;
/** Fixed ring size (Riak's default ring_creation_size); a power of two so a hash prefix picks the partition. */
export const partitionsDefault = 64;
/** Largest ring we accept: 2^14 partitions keeps per-partition trees and ring gossip small. */
export const partitionsMax = 16384;
/** Largest replication factor we accept; beyond this a quorum costs more than it buys. */
export const nMax = 15;
/** Value size limit (bytes); larger values get 413. One MiB, as Riak recommends as the practical ceiling. */
export const maxValueBytesDefault = 1_048_576;
/** Key length limit (bytes of UTF-8), from CONTRACT.md. */
export const keyBytesMax = 512;
/** Default listen port. */
export const portDefault = 7070;
/** Default listen host: loopback, so an unconfigured node is never exposed. */
export const hostDefault = '127.0.0.1';
