/**
 * Shared by the bench scripts: the machine description, medians, and writing a section
 * of docs/performance.md between its markers while keeping every other section (the
 * simulator's, for one) as it is.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', ...(import.meta.dirname.includes('.tmp') ? ['..', '..'] : []));
export const DOC = join(ROOT, 'docs', 'performance.md');

export function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Linux ${release()}, Node ${process.version}`;
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const HEADER = `# Performance

Figures measured on this repository's development machine. Every number below is
written by a script (the command to rerun is next to it); ratios are taken between
figures measured in the same run, because absolute numbers move with the machine.
`;

/**
 * Replaces the text between \`<!-- bench:NAME:begin -->\` and \`<!-- bench:NAME:end -->\`;
 * when the markers are absent, adds \`## TITLE\` with them before the first section
 * that follows the given order (or at the end).
 */
export function writeSection(name: string, title: string, body: string, before: string[] = ['## Simulator']): void {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  let doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : HEADER;
  const block = `${begin}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) {
    doc = doc.slice(0, i) + block + doc.slice(j + end.length);
  } else {
    const section = `## ${title}\n\n${block}\n\n`;
    const at = before.map((b) => doc.indexOf(`\n${b}`)).filter((k) => k >= 0).sort((a, b) => a - b)[0];
    doc = at === undefined ? `${doc.trimEnd()}\n\n${section}` : `${doc.slice(0, at + 1)}${section}${doc.slice(at + 1)}`;
  }
  writeFileSync(DOC, doc.endsWith('\n') ? doc : `${doc}\n`);
}

/** The body of a section written by writeSection, or undefined if the document has none. */
export function readSection(name: string): string | undefined {
  if (!existsSync(DOC)) return undefined;
  const doc = readFileSync(DOC, 'utf8');
  const begin = `<!-- bench:${name}:begin -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(`<!-- bench:${name}:end -->`);
  return i >= 0 && j > i ? doc.slice(i + begin.length, j) : undefined;
}

/** The rows of every Markdown table in `text` (header and separator lines left out), as cells. */
export function tableRows(text: string): string[][] {
  const rows: string[][] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!.trim();
    if (!line.startsWith('|') || !line.endsWith('|')) continue;
    if (/^\|(\s*-+\s*\|)+$/.test(line)) continue;
    // A header is the line right above a separator.
    if (/^\|(\s*-+\s*\|)+$/.test(lines[k + 1]?.trim() ?? '')) continue;
    rows.push(line.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows;
}

/** A Markdown table; numbers right-aligned by the renderer's default is fine. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(Math.abs(n) >= 1 ? 2 : 3);
}
