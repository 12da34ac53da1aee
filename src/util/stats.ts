/**
 * Small statistics for the outcome metrics and the sweep tables: nearest-rank percentiles, the
 * Student-t 95 % interval of a mean, and the Wilson 95 % interval of a proportion.
 */

/** The nearest-rank `q`-quantile (0 < q <= 1) of `xs` (unsorted); 0 for an empty list. */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** p50, p99 and max of a sample list (µs in the metrics). */
export function latencySummary(xs: readonly number[]): { p50: number; p99: number; max: number } {
  return { p50: percentile(xs, 0.5), p99: percentile(xs, 0.99), max: xs.length === 0 ? 0 : Math.max(...xs) };
}

// Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom; beyond, the normal's.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t(0.975, df): the multiplier of the standard error in a 95 % interval of a mean. */
export function tQuantile975(df: number): number {
  if (df < 1) return Number.NaN;
  if (df <= 30) return T975[df - 1]!;
  return 1.96 + 2.4 / df; // within 0.2 % of the exact quantile for df > 30
}

/** A mean with its 95 % interval (`lo`..`hi`); n = 1 gives the mean as both bounds (no spread known). */
export interface MeanCi {
  n: number;
  mean: number;
  lo: number;
  hi: number;
  /** Sample standard deviation (0 when n < 2). */
  sd: number;
}

/** Mean and Student-t 95 % confidence interval of `xs` (each repeat is one independent seed). */
export function meanCi(xs: readonly number[]): MeanCi {
  const n = xs.length;
  if (n === 0) return { n: 0, mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, sd: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, lo: mean, hi: mean, sd: 0 };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const h = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, lo: mean - h, hi: mean + h, sd };
}

/** Wilson score 95 % interval of a proportion `k` of `n` (e.g. runs with a violation). */
export function wilsonCi(k: number, n: number): { p: number; lo: number; hi: number } {
  if (n === 0) return { p: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const z = 1.959964;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { p, lo: Math.max(0, c - h), hi: Math.min(1, c + h) };
}
