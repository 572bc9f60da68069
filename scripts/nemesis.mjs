#!/usr/bin/env node
// `npm run nemesis -- [--duration 600] [--seed S] [--out DIR] ...`: Jepsen-style fault
// run on 5 real `shoal start` processes (see test/nemesis/README.md and docs/reliability.md).
//
// 1. Builds dist/ if it is missing, and compiles test/nemesis/*.ts to .tmp/nemesis-dist.
// 2. Checks the environment: root, `unshare`, `ip` and `nft`, and that a new network
//    namespace can actually be made and filtered. Without them it prints why and exits 77
//    (the conventional "skipped" status); the vitest wrapper turns that into a skip.
// 3. Runs test/nemesis/main.ts under `unshare -n` after `ip link set lo up`: the nodes,
//    their nft rules and every socket live and die with that private namespace. The child
//    is its own process group; on exit or a signal we kill that group, so no node outlives us.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const SKIP = 77;

export function nemesisUnavailable() {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (unshare -n and nft need CAP_NET_ADMIN)';
  for (const tool of ['unshare', 'ip', 'nft']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) return `${tool} not found (apt-get install -y ${tool === 'nft' ? 'nftables' : tool === 'ip' ? 'iproute2' : 'util-linux'})`;
  }
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && nft add table inet shoal_probe && nft list tables'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) return `cannot make a filtered network namespace: ${(probe.stderr || probe.error?.message || `status ${probe.status}`).trim()}`;
  return undefined;
}

function main() {
  const args = process.argv.slice(2);
  const why = nemesisUnavailable();
  if (why !== undefined) {
    console.log(`nemesis: SKIPPED: ${why}`);
    process.exit(SKIP);
  }
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    if (b.status !== 0) process.exit(1);
  }
  const outDir = join(root, '.tmp', 'nemesis-dist');
  const tsc = spawnSync(
    'npx',
    ['tsc', '--outDir', outDir, '--rootDir', join(root, 'test', 'nemesis'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022',
      '--strict', '--noUncheckedIndexedAccess', '--skipLibCheck', '--types', 'node', '--lib', 'ES2022,DOM', join(root, 'test', 'nemesis', 'main.ts')],
    { cwd: root, stdio: 'inherit' },
  );
  if (tsc.status !== 0) process.exit(1);
  if (!args.includes('--out')) args.push('--out', join(root, 'test-results', 'nemesis', new Date().toISOString().replace(/[:.]/g, '-')));
  const out = resolve(args[args.indexOf('--out') + 1]);
  args[args.indexOf('--out') + 1] = out;
  const child = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, join(outDir, 'main.js'), '--root', root, ...args], {
    cwd: root,
    stdio: 'inherit',
    detached: true,
  });
  const killGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const forward = (sig) => () => {
    killGroup(sig);
    setTimeout(() => killGroup('SIGKILL'), 8_000).unref();
  };
  process.on('SIGINT', forward('SIGTERM'));
  process.on('SIGTERM', forward('SIGTERM'));
  child.on('exit', (code, signal) => {
    // Whatever the harness left behind in its group goes with it.
    killGroup('SIGKILL');
    process.exit(code ?? (signal ? 1 : 0));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) main();
