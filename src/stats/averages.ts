/**
 * Means and medians for benchmarks and simulations. No values is an error rather than 0 or NaN, so a figure
 * over an empty sample is never printed as if it were measured.
 */

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('mean of no values');
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The sample standard deviation (n - 1); fewer than two values is an error. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) throw new Error('standard deviation of fewer than two values');
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}
