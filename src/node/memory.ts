/**
 * A soft limit on the node's resident memory, in the manner of Go's GOMEMLIMIT: as the
 * process's resident size nears the limit, V8 is told to collect its old generation at a
 * smaller growth of the heap. V8 otherwise lets the heap grow to up to four times what
 * survived the last full collection; under a burst of writes that was 160-170 MB of heap
 * for ~35 MB of live objects, which alone put a node holding 1,000,000 keys over issue
 * 7's 300 MB. Tighter collection costs CPU (see src/config/node.ts), so it applies only
 * near the limit; nothing is refused above it.
 *
 * `gcStep` is the pure decision; `MemoryGovernor` samples and applies it, with the
 * reading of the resident size and the V8 setting injected (the process-wide flag is set
 * by startNode only, never by nodes that share a test process).
 */
import { memoryGcHysteresis, memoryGcSteps } from '../config/index.js';

export type GcSteps = ReadonlyArray<{ readonly fraction: number; readonly growingPercent: number }>;

/**
 * The step (0 = V8's own heuristics, i = steps[i-1]) for a resident size of `fraction`
 * of the limit, given the step in force: a higher step applies at once; a step is left
 * downward only once the size is `hysteresis` below where that step starts.
 */
export function gcStep(fraction: number, current: number, steps: GcSteps = memoryGcSteps, hysteresis = memoryGcHysteresis): number {
  let want = 0;
  for (let i = 0; i < steps.length; i++) if (fraction >= steps[i]!.fraction) want = i + 1;
  // Going down: stay on the highest step (not above the current one) still within reach.
  for (let s = Math.min(current, steps.length); s > want; s--) if (fraction >= steps[s - 1]!.fraction - hysteresis) return s;
  return want;
}

export interface MemoryGovernorOptions {
  readonly limitBytes: number;
  /** The process's resident size, bytes (process.memoryUsage.rss in production). */
  readonly residentBytes: () => number;
  /** Sets V8's growth factor: 0 = V8's own, else 1 + percent/100. */
  readonly setGrowingPercent: (percent: number) => void;
  readonly steps?: GcSteps;
  readonly hysteresis?: number;
}

export class MemoryGovernor {
  private current = 0;
  private lastResident = 0;
  private changes = 0;
  private readonly steps: GcSteps;

  constructor(private readonly options: MemoryGovernorOptions) {
    if (!(options.limitBytes > 0)) throw new RangeError(`memory soft limit must be positive (got ${options.limitBytes})`);
    this.steps = options.steps ?? memoryGcSteps;
  }

  /** Reads the resident size and moves to the step it calls for; returns the step in force. */
  check(): number {
    this.lastResident = this.options.residentBytes();
    const next = gcStep(this.lastResident / this.options.limitBytes, this.current, this.steps, this.options.hysteresis ?? memoryGcHysteresis);
    if (next !== this.current) {
      this.current = next;
      this.changes++;
      this.options.setGrowingPercent(this.growingPercent());
    }
    return this.current;
  }

  /** Hands the heap back to V8's own heuristics (the node stops; the setting is process-wide). */
  stop(): void {
    if (this.current === 0) return;
    this.current = 0;
    this.changes++;
    this.options.setGrowingPercent(0);
  }

  step(): number {
    return this.current;
  }

  growingPercent(): number {
    return this.current === 0 ? 0 : this.steps[this.current - 1]!.growingPercent;
  }

  /** Prometheus text for /metrics. */
  metricsText(): string {
    return [
      '# HELP shoal_memory_soft_limit_bytes Resident size the node steers its garbage collection toward (SHOAL_MEMORY_SOFT_LIMIT_MB).',
      '# TYPE shoal_memory_soft_limit_bytes gauge',
      `shoal_memory_soft_limit_bytes ${this.options.limitBytes}`,
      '# HELP shoal_memory_gc_step How tightly V8 collects: 0 = its own heuristics, higher = closer to the soft limit.',
      '# TYPE shoal_memory_gc_step gauge',
      `shoal_memory_gc_step ${this.current}`,
      '# HELP shoal_memory_gc_growing_percent Old-generation growth allowed after a full collection, percent (0 = V8 decides).',
      '# TYPE shoal_memory_gc_growing_percent gauge',
      `shoal_memory_gc_growing_percent ${this.growingPercent()}`,
      '# HELP shoal_memory_gc_step_changes_total Times the soft limit changed the collection step.',
      '# TYPE shoal_memory_gc_step_changes_total counter',
      `shoal_memory_gc_step_changes_total ${this.changes}`,
      '',
    ].join('\n');
  }
}

/**
 * Whether the process was started with its own heap growth setting (node flags or
 * NODE_OPTIONS): then the operator's choice stands and the governor stays off.
 */
export function heapGrowthSetByOperator(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const flag = /--heap[-_]growing[-_]percent/;
  return execArgv.some((a) => flag.test(a)) || flag.test(nodeOptions ?? '');
}
