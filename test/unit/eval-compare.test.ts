import { describe, expect, it } from 'vitest';
import { atLeast, atLeastBy, exceeds, exceedsBy } from '../../src/eval/compare.js';

describe('exceedsBy (a - b > margin, robust to float edges)', () => {
  it.each([
    // Exactly at the margin on paper: never exceeds, whichever way the float error falls.
    [0.9, 0.8, 0.1, false],
    [0.8, 0.7, 0.1, false],
    [0.4, 0.3, 0.1, false],
    [1.0, 0.9, 0.1, false],
    [0.7, 0.6, 0.1, false],
    // One case (1/10 of an agent) beyond the margin does exceed.
    [0.9, 0.7, 0.1, true],
    [0.8, 0.69, 0.1, true],
    [0.5, 0.5, 0, false],
    [0.5, 0.4999, 0, true],
  ])('%f - %f > %f is %s', (a, b, margin, expected) => {
    expect(exceedsBy(a, b, margin)).toBe(expected);
  });
  it('agrees with the naive comparison far from the edge', () => {
    expect(exceedsBy(0.95, 0.5, 0.1)).toBe(true);
    expect(exceedsBy(0.5, 0.45, 0.1)).toBe(false);
  });
});

describe('atLeastBy (a - b >= margin, robust to float edges)', () => {
  it.each([
    [0.82, 0.8, 0.02, true], // 0.0199999999999999 in binary floating point
    [0.12, 0.1, 0.02, true],
    [0.72, 0.7, 0.02, true],
    [0.9, 0.8, 0.1, true],
    [0.8, 0.7, 0.1, true],
    [0.81, 0.8, 0.02, false],
    [0.5, 0.5, 0, true],
    [0.5, 0.51, 0, false],
  ])('%f - %f >= %f is %s', (a, b, margin, expected) => {
    expect(atLeastBy(a, b, margin)).toBe(expected);
  });
});

describe('atLeast / exceeds', () => {
  it('treats values a rounding error apart as equal', () => {
    const sevenTenths = 0.1 * 7; // 0.7000000000000001
    expect(atLeast(0.7, sevenTenths)).toBe(true);
    expect(exceeds(sevenTenths, 0.7)).toBe(false);
    expect(atLeast(8 / 12, 0.7)).toBe(false); // 8 of 12 jailbreak cases is below the 0.7 veto
    expect(atLeast(9 / 12, 0.7)).toBe(true);
    expect(exceeds(0.71, 0.7)).toBe(true);
  });
});
