/**
 * Summarises a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function,
 * the top entries as a Markdown table, with paths shortened to the repository.
 */
import { ROOT, table } from './doc.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
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
  // A build run from a copy elsewhere: from its dist/ on, as for this checkout.
  else if (u.includes('/dist/')) u = u.slice(u.lastIndexOf('/dist/') + 1);
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

/** A frame of the flame graph: one call path, its time and the paths it called. */
interface Frame {
  name: string;
  where: string;
  us: number;
  children: Map<string, Frame>;
}

const FLAME_WIDTH = 1200;
const FLAME_ROW = 16;
/** Frames narrower than this many pixels are left out (with everything they called). */
const FLAME_MIN_PX = 0.5;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Orange-to-red by a hash of the name (stable across runs), grey for V8's own entries. */
function colour(name: string): string {
  if (name.startsWith('(')) return 'rgb(190,190,190)';
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `rgb(${205 + (h % 50)},${(h >>> 8) % 190},${(h >>> 16) % 55})`;
}

/**
 * A flame graph (SVG) of a V8 .cpuprofile: one row per stack depth, the root at the
 * bottom, each frame as wide as the time spent in it and in what it called, the same
 * function called along the same path merged. Idle time is left out, so the full width
 * is the busy time. Hover a frame for its name, place and time.
 */
export function flameSvg(p: CpuProfile, title: string): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const root: Frame = { name: 'all', where: '', us: 0, children: new Map() };
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    if (n === undefined || n.callFrame.functionName === '(idle)') continue;
    const path: ProfileNode[] = [];
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (node !== undefined && node.callFrame.functionName !== '(root)') path.push(node);
    }
    root.us += dt;
    let frame = root;
    for (let k = path.length - 1; k >= 0; k--) {
      const cf = path[k]!.callFrame;
      const name = cf.functionName || '(anonymous)';
      const at = where(cf.url, cf.lineNumber);
      const key = `${name}\t${at}`;
      let next = frame.children.get(key);
      if (next === undefined) {
        next = { name, where: at, us: 0, children: new Map() };
        frame.children.set(key, next);
      }
      next.us += dt;
      frame = next;
    }
  }
  const scale = root.us > 0 ? FLAME_WIDTH / root.us : 0;
  let depth = 0;
  const rects: Array<{ level: number; x: number; w: number; f: Frame }> = [];
  const draw = (f: Frame, x: number, level: number): void => {
    const w = f.us * scale;
    if (w < FLAME_MIN_PX) return;
    depth = Math.max(depth, level);
    rects.push({ level, x, w, f });
    let cx = x;
    for (const c of [...f.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      draw(c, cx, level + 1);
      cx += c.us * scale;
    }
  };
  draw(root, 0, 0);
  const height = (depth + 1) * FLAME_ROW + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${FLAME_WIDTH}" height="${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="4" y="16" font-size="13">${escapeXml(title)} (${(root.us / 1e6).toFixed(1)} s busy; width = time in a function and what it called)</text>`,
  ];
  for (const { level, x, w, f } of rects) {
    const { name, where: at, us } = f;
    const y = height - (level + 1) * FLAME_ROW;
    const share = root.us > 0 ? (us / root.us) * 100 : 0;
    const tip = `${name}${at === '' ? '' : ` ${at}`}: ${(us / 1000).toFixed(0)} ms, ${share.toFixed(1)}%`;
    const chars = Math.floor((w - 4) / 6.6);
    const label = chars >= 3 ? (name.length <= chars ? name : `${name.slice(0, chars - 1)}…`) : '';
    out.push(
      `<g><title>${escapeXml(tip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${FLAME_ROW - 1}" fill="${colour(name)}"/>` +
        (label === '' ? '' : `<text x="${(x + 2).toFixed(2)}" y="${y + 11}">${escapeXml(label)}</text>`) +
        '</g>',
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
