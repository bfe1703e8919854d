/**
 * Threshold comparisons for the Council rules. Scores are means of case scores, so values that are equal on
 * paper differ in the last bits (0.9 - 0.8 = 0.09999999999999998, 0.8 - 0.7 = 0.10000000000000009). A tolerance
 * far below one case's weight (1/61 ≈ 0.016) makes such pairs compare as equal, so a decision never flips on
 * float noise.
 */
export const SCORE_EPSILON = 1e-9;

/** a > b, where a within SCORE_EPSILON of b counts as equal (so not greater). */
export function exceeds(a: number, b: number): boolean {
  return a - b > SCORE_EPSILON;
}

/** a >= b, where a within SCORE_EPSILON below b counts as equal (so at least). */
export function atLeast(a: number, b: number): boolean {
  return a - b >= -SCORE_EPSILON;
}

/** a - b > margin, robust to float edges: 0.9 - 0.8 does not exceed 0.1, and neither does 0.8 - 0.7. */
export function exceedsBy(a: number, b: number, margin: number): boolean {
  return exceeds(a - b, margin);
}

/** a - b >= margin, robust to float edges: 0.82 - 0.8 is at least 0.02 even though it computes as 0.0199999999999999. */
export function atLeastBy(a: number, b: number, margin: number): boolean {
  return atLeast(a - b, margin);
}
