/** Help texts, one per command. */

export const USAGE = `usage: shoal <command> [flags]

commands:
  start           run one node
  dev             run a local cluster of separate node processes
  get KEY         read a key
  put KEY VALUE   write a key (VALUE '-' reads standard input)
  del KEY         delete a key
  status          cluster members and hints
  ring            partition owners
  explain KEY     why a key looks as it does: partition, replicas, versions, hints
  leave           ask a node to hand off its partitions and stop
  bench           load generator

exit codes: 0 ok, 1 the operation failed (server error or unreachable),
2 bad flags or configuration, 3 'get' found siblings, 4 'get' found nothing.

Run 'shoal <command> --help' for the flags of one command.
`;

const CLIENT_FLAGS = `  --endpoint HOST:PORT   node to ask (default 127.0.0.1:7070)
  --token-file F         client token file (sent as Authorization: Bearer)
  --tls                  use https://
`;

export const HELP: Record<string, string> = {
  start: `usage: shoal start [flags]

Runs one node. It is ready when GET /v1/health answers 200; SIGTERM or SIGINT
stops it cleanly.

  --id NAME                 node id, unique and stable (default HOST:PORT)
  --host ADDR               listen and source address (default 127.0.0.1)
  --port N                  the one TCP port (default 7070; 0 picks a free one)
  --data DIR                storage directory (default ./data/ID, e.g.
                            ./data/127.0.0.1:7070)
  --seeds H:P,...           join the cluster through any reachable seed
  --secret-file F           cluster secret (default: env SHOAL_SECRET); without
                            one only a loopback --host is allowed
  --client-token-file F     require Authorization: Bearer TOKEN from clients
  --n N                     replication factor (default 3)
  --r R                     default read quorum (default 2, at most N)
  --w W                     default write quorum (default 2, at most N)
  --partitions Q            ring partitions, a power of two >= N (default 64)
  --max-value-bytes B       value size limit (default 1048576)
  --tls-cert F --tls-key F  serve https:// and wss:// (both or neither)
  --engine E                classic-level (default) or rocksdb
  --sync                    fsync before a replica acknowledges a write
  --clock-offset-ms MS      shift this node's wall clock (negative: --clock-offset-ms=-500)
  --tombstone-grace-ms MS   reap a tombstone no sooner than this after the delete, and only once
                            every replica holds it (default 60000)
  --allowed-origins O,...   browser Origins allowed on /v1/ws and the dashboard
`,
  dev: `usage: shoal dev [--nodes 3] [--base-port 7070] [--data ./data]

Starts a local cluster of separate node processes on 127.0.0.1, ports BASE,
BASE+1, ...; node i>1 is seeded with the first. A development secret is
generated once into DATA/dev-secret and reused on restarts; node data lives in
DATA/ID. Ctrl-C stops every node.

  --nodes N        number of nodes (default 3)
  --base-port P    first port (default 7070)
  --data DIR       data directory (default ./data)
`,
  get: `usage: shoal get KEY [flags]

Prints the value to standard output. Concurrent siblings: each is printed,
separated by a line '--- sibling I of N ---', and the exit code is 3. Nothing
live: a message on standard error and exit code 4.

${CLIENT_FLAGS}  --r R                  read quorum: 1..N, one, quorum, all
  --timeout-ms MS        request timeout
  --show-context         print the context token to standard error
  --json                 print {"values":[BASE64...],"context":...,"found":...} (exit 0)
`,
  put: `usage: shoal put KEY VALUE [flags]

Writes VALUE ('-' reads standard input). Without --context the value becomes a
sibling of whatever versions exist.

${CLIENT_FLAGS}  --context TOKEN        supersede what this context (from a read) covers
  --w W                  write quorum: 1..N, one, quorum, all
  --timeout-ms MS        request timeout
  --show-context         print the new version's context to standard error
  --json                 print {"context":...}
`,
  del: `usage: shoal del KEY [flags]

Deletes the key: reads it first and deletes every version that read saw (a version
written after the read survives as a sibling of the tombstone). With --context,
deletes what that context covers, without the read. A key never written is left as
it is (exit 0).

${CLIENT_FLAGS}  --context TOKEN        delete what this context (from an earlier read) covers
  --w W                  write quorum: 1..N, one, quorum, all
  --timeout-ms MS        request timeout
  --show-context         print the tombstone's context to standard error
  --json                 print {"context":...}
`,
  status: `usage: shoal status [flags]

Shows the node's view of the cluster, the facts its dashboard shows: members with
status, gossip versions (incarnation, heartbeat), hints held for each and replica
latency; anti-entropy and transfer state when the node reports them.

${CLIENT_FLAGS}  --timeout-ms MS        request timeout
  --json                 print /v1/status as JSON (with the dashboard's overview when available)
`,
  ring: `usage: shoal ring [flags]

Shows each partition's owners in preference order, partitions per node, and which
fallback stands in for an owner that is not up.

${CLIENT_FLAGS}  --timeout-ms MS        request timeout
  --json                 print the ring as JSON (with stand-ins when available)
`,
  explain: `usage: shoal explain KEY [flags]

Why a key looks as it does: its partition, its preference list with each node's
status, every replica's stored versions (dots, siblings, tombstone) read without
repairing anything, and the hints this node holds for it.

${CLIENT_FLAGS}  --timeout-ms MS        how long to wait for the replicas
  --json                 print the raw JSON of GET /v1/explain/KEY
`,
  leave: `usage: shoal leave [flags]

Asks the node to hand its partitions to the rest of the cluster and stop.

${CLIENT_FLAGS}  --timeout-ms MS        request timeout
`,
  bench: `usage: shoal bench [flags]

A load generator: CONCURRENCY workers, each with one request in flight, issue a
mix of operations on KEYS keys for DURATION, then print per-operation counts and
latency percentiles (p50, p90, p99, p99.9, max; log-linear histograms within
0.8%) and errors by code. Progress goes to standard error once a second. Puts
carry the context of the key's last answer, so they supersede rather than pile
up siblings; delete and rmw read first and are timed with their read.

  --endpoint HOST:PORT   node(s) to drive; repeat or comma-separate (default 127.0.0.1:7070)
  --token-file F         client token file
  --duration D           run length: 20s, 500ms, 2m (default 10s)
  --warmup D             run this long first without recording (default 0)
  --concurrency C        requests in flight (default 64)
  --value-bytes B        value size (default 1024)
  --keys K               key space (default 100000)
  --mix OP=W,...         weights of put, get, delete, rmw (default put=50,get=50)
  --dist uniform|zipf    key distribution (default uniform; zipf exponent 0.99)
  --r R, --w W           quorums: 1..N, one, quorum, all (default: the node's)
  --timeout-ms MS        per-request timeout (default 5000)
  --http                 drive the HTTP API (keep-alive) instead of the SDK
  --json                 print the result as JSON (latencies in microseconds)

Exit code 0 when at least one operation succeeded (errors are reported, not fatal).
`,
};
