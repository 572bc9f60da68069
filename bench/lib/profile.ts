/**
 * Summarises a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function,
 * the top entries as a Markdown table, with paths shortened to the repository.
 */
import { ROOT, table } from './doc.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function where(url: string, line: number): string {
  if (url === '') return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) u = u.slice(nm + '/node_modules/'.length);
  else if (u.startsWith(ROOT)) u = u.slice(ROOT.length + 1);
  return `${u}:${line + 1}`;
}

export function summariseProfile(p: CpuProfile, top = 20): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    if (n === undefined) continue;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    const k = `${name}\t${where(n.callFrame.url, n.callFrame.lineNumber)}`;
    self.set(k, (self.get(k) ?? 0) + dt);
  }
  const wall = (p.endTime - p.startTime) / 1e6;
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => {
      const [fn, loc] = k.split('\t') as [string, string];
      return [`\`${fn}\``, loc === '' ? '' : `\`${loc}\``, (us / 1000).toFixed(0), `${((us / total) * 100).toFixed(1)}%`];
    });
  return (
    `Profile: ${wall.toFixed(1)} s of wall time, ${(total / 1e6).toFixed(1)} s busy (${((total / (total + idle)) * 100).toFixed(0)}% of the samples), ${(idle / 1e6).toFixed(1)} s idle.\n\n` +
    table(['function', 'where', 'self ms', 'share of busy'], rows)
  );
}
