/**
 * A log-linear latency histogram with bounded relative error, in the manner of HdrHistogram.
 *
 * Values are integers (microseconds here). Below 2^P (P = precision bits) each value has
 * its own bucket; above, every power-of-two range [2^e, 2^(e+1)) is split into 2^P equal
 * sub-buckets, so a bucket is never wider than 1/2^P of the values it holds. A percentile
 * is answered with the highest value its bucket could hold, hence never below the true
 * value and never more than 2^-P above it (0.8% at P = 7). Count, min, max and sum are kept
 * exactly. Two histograms merge by adding buckets, so per-interval histograms fold into
 * a run's and per-round ones into a comparison's.
 *
 * Why our own and not hdr-histogram-js: this is forty lines with no dependency, fixed
 * memory (3,200 float64 buckets at P = 7), and the error bound is easy to state and test.
 */
import { benchHistogramPrecisionBits, benchHistogramValueUsMax } from '../config/index.js';
import { assert } from '../errors/index.js';

export interface HistogramSummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  private readonly buckets: Float64Array;
  private readonly sub: number;
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  constructor(
    readonly precisionBits = benchHistogramPrecisionBits,
    readonly valueMax = benchHistogramValueUsMax,
  ) {
    assert(Number.isInteger(precisionBits) && precisionBits >= 1 && precisionBits <= 16, 'histogram precision bits in 1..16');
    assert(Number.isInteger(valueMax) && valueMax >= 1 && valueMax <= 2_147_483_647, 'histogram max in 1..2^31-1');
    this.sub = 2 ** precisionBits;
    this.buckets = new Float64Array(this.indexOf(valueMax) + 1);
  }

  /** Bucket index of a value in [0, valueMax]. */
  private indexOf(v: number): number {
    if (v < this.sub) return v;
    const e = 31 - Math.clz32(v);
    const shift = e - this.precisionBits;
    return shift * this.sub + (v >>> shift);
  }

  /** The highest value that falls in bucket `i`. */
  private highestIn(i: number): number {
    if (i < 2 * this.sub) return i;
    const shift = Math.floor(i / this.sub) - 1;
    const subIndex = i - shift * this.sub;
    return (subIndex + 1) * 2 ** shift - 1;
  }

  /** Records one value; negatives count as 0, fractions round, values over `valueMax` count as `valueMax`. */
  record(value: number): void {
    const v = Math.min(this.valueMax, Math.max(0, Math.round(value)));
    this.buckets[this.indexOf(v)]! += 1;
    this.count += 1;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Adds another histogram of the same shape into this one. */
  merge(other: Histogram): void {
    assert(other.precisionBits === this.precisionBits && other.valueMax === this.valueMax, 'merge needs histograms of one shape');
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += other.buckets[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /**
   * The value at percentile `p` (0..100): the smallest recorded value v with at least
   * ceil(p% of count) values at or below it, reported as its bucket's highest value but
   * never above the exact max. 0 when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, this.highestIn(i)));
    }
    return this.max;
  }

  summary(): HistogramSummary {
    return {
      count: this.count,
      min: this.count === 0 ? 0 : this.min,
      mean: this.count === 0 ? 0 : this.sum / this.count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
    };
  }
}
