/**
 * The `shoal` command.
 *
 * One binary, several verbs. `start` turns the flags of CONTRACT.md into a validated
 * `NodeOptions` (`parseStartArgs`, pure apart from reading the secret and token files)
 * and hands it to `startNode` from src/node, loaded with a dynamic import so the CLI
 * builds on its own; SIGTERM or SIGINT stops the node and exits 0. Validation happens
 * here, before any socket or file is opened, because a node that starts with a bad
 * setting (R > N, a ring that is not a power of two, a public address without a secret)
 * fails later and more confusingly: every such case exits 2 with a message naming the
 * flag.
 *
 * `dev` starts N separate `shoal start` processes on 127.0.0.1 (ports BASE..BASE+N-1,
 * ids 127.0.0.1:PORT, node i>1 seeded with the first), generates one development
 * secret into DATA/dev-secret so a restart rejoins the same cluster, prefixes each
 * child's log lines with its id, waits for every `GET /v1/health`, and forwards Ctrl-C.
 *
 * The client verbs (`get`, `put`, `del`, `status`, `ring`, `leave`) speak the HTTP API:
 * one request per process needs no connection pool, and HTTP is the contract scripts
 * already speak. Output is for people by default and for programs with `--json`.
 *
 * Decisions worth knowing:
 * - A node's default data directory is `./data/ID` (CONTRACT.md), with only path
 *   separators in the id replaced by '_'; see `dataDirName`. `shoal dev` uses the same
 *   rule under its --data.
 * - `get` with siblings prints each value after a line `--- sibling I of N ---` and exits
 *   3, so a script cannot mistake a conflict for a value; nothing live exits 4. With
 *   `--json` every outcome is one JSON object and exits 0.
 * - Default R and W are min(2, N), so `--n 1` works without also passing `--r 1 --w 1`.
 * - `--partitions` must be a power of two and at least N.
 * - TLS files are checked to exist and passed to the node as paths.
 *
 * Exit codes: 0 ok, 1 the operation failed (server error, unreachable), 2 bad flags or
 * configuration, 3 siblings, 4 not found.
 */
export { main } from './main.js';
export { parseStartArgs, dataDirName, isLoopback, runStart, type RunningNode, type StartNode } from './start.js';
export { planDev, runDev, type DevPlan } from './dev.js';
export { EXIT, processIo, type CliIo } from './io.js';
