/**
 * The planner benchmark's counting, kept apart from the nights so it can be table-tested: median curves over
 * landscapes, the experiments a median curve needs to reach a level, and that count as a ratio to random
 * search's, printed as a bound when either side never got there within its horizon.
 */

import { median } from '../src/stats/averages.js';

/** The median over curves at each of experiments 0..length-1; every curve must be at least that long. */
export function medianCurve(curves: readonly (readonly number[])[], length: number): number[] {
  const short = curves.findIndex((c) => c.length < length);
  if (short >= 0) throw new Error(`curve ${short} has ${curves[short]!.length} points, fewer than the ${length} asked for`);
  return Array.from({ length }, (_, k) => median(curves.map((c) => c[k]!)));
}

/**
 * Experiments until the curve first reaches the level (curve[k] is the score after k experiments), or null when
 * it never does within the curve. A rounding hair below the level counts as reached, so a planner that ends
 * exactly at the best final median reaches a target defined from it.
 */
export function experimentsToReach(curve: readonly number[], level: number): number | null {
  const k = curve.findIndex((x) => x >= level - 1e-12);
  return k < 0 ? null : k;
}

/** A count of experiments to a level, and the horizon it was looked for within (null: not reached by then). */
export interface Reach {
  experiments: number | null;
  horizon: number;
}

export const showReach = (r: Reach): string => (r.experiments === null ? `>${r.horizon}` : String(r.experiments));

/**
 * The planner's count as a ratio to random search's. When random search never got there within its horizon its
 * count is at least horizon + 1, so the ratio is an upper bound (`<`); when the planner never got there but random
 * search did, a lower bound (`>`); when neither did, nothing can be said (`-`). Random search reaching the level
 * at 0 experiments (the baseline already there) leaves no ratio either.
 */
export function reachRatio(planner: Reach, random: Reach): string {
  const p = planner.experiments;
  const r = random.experiments;
  if (p === null && r === null) return '-';
  if (r === null) return `<${(p! / (random.horizon + 1)).toFixed(2)}`;
  if (r === 0) return '-';
  if (p === null) return `>${((planner.horizon + 1) / r).toFixed(2)}`;
  return (p / r).toFixed(2);
}
