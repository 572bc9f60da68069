/**
 * Every default and limit in one place, split by concept. Names end in their unit
 * (`...Ms`, `...Bytes`, `...Max` for counts); each carries a sentence on why it has
 * its value and what happens on overflow.
 */
export * from './cluster.js';
export * from './vclock.js';
export * from './ring.js';
export * from './store.js';
export * from './wire.js';
export * from './transport.js';
export * from './gossip.js';
export * from './coordinator.js';
export * from './handoff.js';
export * from './transfer.js';
export * from './antientropy.js';
export * from './api.js';
export * from './client.js';
export * from './node.js';
export * from './sim.js';
export * from './bench.js';
export * from './dashboard.js';
