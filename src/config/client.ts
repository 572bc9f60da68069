// Limits and defaults for src/client (the SDK) and src/cli (the `shoal` command). Each
// constant: unit last in the name, and a sentence on why.

// ---------------------------------------------------------------- SDK

/**
 * Per-request timeout when the caller gives none. Long enough for a quorum across a
 * slow LAN plus one failover; short enough that a stuck request surfaces as an error a
 * person notices rather than a hang.
 */
export const clientTimeoutMsDefault = 5_000;
/**
 * Extra time the client waits past a request's own timeout (which it also sends to the
 * server as `tmo`), so the server's precise answer (`unavailable`: fewer than R/W
 * replicas replied) normally wins over the client's vaguer TIMEOUT.
 */
export const clientTimeoutGraceMs = 250;
/**
 * Largest timeout a caller may ask for; the server bounds `tmo` too, and a request
 * that waits longer than this is better retried by the application.
 */
export const clientTimeoutMsMax = 120_000;
/**
 * How long `connect()` waits for the first connection to open before it fails with
 * UNAVAILABLE (each endpoint is tried in parallel).
 */
export const clientConnectTimeoutMs = 5_000;
/**
 * Requests in flight per client (sent or waiting for a connection). Beyond this a new
 * request fails at once with OVERLOADED instead of queueing without bound, so a caller
 * that outruns the cluster finds out immediately.
 */
export const clientInFlightMax = 1_024;
/**
 * How many times one idempotent request (a get, or a write that never left the client)
 * moves to another connection after its connection dropped. Bounded so a flapping
 * cluster cannot bounce one request forever; the request's timeout bounds it too.
 */
export const clientRetriesMax = 3;
/**
 * Longest a direct read (the SDK reading R owners itself, Dynamo's client-driven
 * coordination) waits for its replies before the get goes through a coordinator instead,
 * whose speculative retry and sloppy quorum deal with a slow or dead replica. Also at
 * most half the request's own timeout, so the coordinated read keeps the other half. A
 * replica answers a direct read from its own storage without asking anyone, so anything
 * near this is a sick replica, not a slow quorum.
 */
export const clientDirectReadTimeoutMs = 250;
/**
 * After a direct read to a node timed out, direct reads leave that node out for this
 * long (their gets use the other owners, or a coordinator). A paused or cut-off node then
 * costs one client one timed-out read a second instead of one per get that picks it.
 */
export const clientDirectReadAvoidMs = 1_000;
/**
 * Requests in flight on a client (the get itself included) up to which a direct get asks
 * every connected owner for its whole copy and answers from the first R that agree,
 * instead of asking exactly R (Cassandra's rapid read protection, Dynamo's "first R
 * replies"). At low load the extra copy request costs nothing anyone waits for, and a get
 * waits for the second-fastest of three owners rather than the slower of two: measured at
 * 1 in flight on a cluster still compacting its writes, p50 0.276-0.298 ms against
 * 0.303-0.386 asking exactly R (three alternating pairs).
 * Under load it would add half again to every get's work on the nodes, so only an idle
 * client (1: this get alone) does it.
 */
export const clientDirectReadAllOwnersInFlightMax = 1;
/** First reconnect delay after a connection drops; doubles per failed attempt. */
export const clientReconnectBaseMs = 100;
/**
 * Ceiling of the reconnect delay: a node down for a while is retried every few
 * seconds, which is cheap for the client and quick to notice the node's return.
 */
export const clientReconnectMaxMs = 5_000;
/**
 * Connections one client keeps (the given endpoints plus members it learns from the
 * ring for routing). One per node of a mid-sized cluster; beyond this, keys whose owners
 * are not connected go to any connected node, which forwards them.
 */
export const clientConnectionsMax = 32;
/**
 * The routing table is refreshed this often even without errors, so a client notices
 * joins, leaves and ring changes within a gossip-like delay.
 */
export const clientRingRefreshMs = 30_000;
/**
 * Minimum spacing of ring refreshes triggered by errors (a dropped connection,
 * `unavailable`), so a burst of failures asks for the ring once, not once per request.
 */
export const clientRingRefreshMinMs = 1_000;
/**
 * How long `close()` waits for each socket's closing handshake before it lets go; a
 * server that vanished must not make close() hang.
 */
export const clientCloseWaitMs = 1_000;

// ---------------------------------------------------------------- CLI

/** Default endpoint of the client commands (`--endpoint`). */
export const cliEndpointDefault = '127.0.0.1:7070';
/** Nodes `shoal dev` starts by default: the smallest cluster where N=3 quorums mean anything. */
export const cliDevNodesDefault = 3;
/** Most nodes `shoal dev` starts: one machine, separate processes; more is a benchmark, not a dev cluster. */
export const cliDevNodesMax = 32;
/**
 * How long `shoal dev` waits for every node's `GET /v1/health` to answer 200. Node start
 * opens a storage engine and binds a port; 30 s covers a cold disk and a busy CI machine.
 */
export const cliDevReadyTimeoutMs = 30_000;
/** Spacing of the health polls while `shoal dev` waits. */
export const cliDevPollMs = 100;
/**
 * How long `shoal dev` waits for its children to exit after forwarding a signal before
 * it kills the stragglers (a node's clean stop flushes storage; 10 s is generous).
 */
export const cliDevStopTimeoutMs = 10_000;
/** Bytes of randomness in the development cluster secret `shoal dev` generates. */
export const cliDevSecretBytes = 32;
/** Timeout of one HTTP request by the client commands when `--timeout-ms` is not given. */
export const cliHttpTimeoutMsDefault = 10_000;
/** Largest value `shoal put KEY -` reads from standard input; the server's own limit applies too. */
export const cliStdinBytesMax = 64 * 1_048_576;
/**
 * Largest `--max-value-bytes` `shoal start` accepts: 64 MiB. A value travels whole in
 * one frame and is held in memory on every replica it passes through; beyond this a
 * blob store is the better tool.
 */
export const cliMaxValueBytesMax = 64 * 1_048_576;
/** Largest `--clock-offset-ms` magnitude: one day, far past any skew a fault test needs. */
export const cliClockOffsetMsMax = 86_400_000;
/** Longest node id (characters): ids travel in every gossip message and every dot of every version. */
export const cliIdCharsMax = 128;
