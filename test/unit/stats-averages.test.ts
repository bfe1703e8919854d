import { describe, expect, it } from 'vitest';
import { mean, median, sampleSd } from '../../src/stats/averages.js';

describe('mean', () => {
  it.each([
    [[3], 3],
    [[1, 2], 1.5],
    [[0.25, 0.5, 0.75, 1], 0.625],
    [[-2, 2, 6], 2],
  ])('of %j is %d', (xs, m) => expect(mean(xs)).toBe(m));

  it('refuses no values', () => expect(() => mean([])).toThrow(/no values/));
});

describe('median', () => {
  it.each([
    [[3], 3],
    [[1, 3], 2],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])('of %j is %d', (xs, m) => expect(median(xs)).toBe(m));

  it('leaves its input unsorted', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('refuses no values', () => expect(() => median([])).toThrow(/no values/));
});

describe('sampleSd', () => {
  it('divides by n - 1', () => {
    expect(sampleSd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleSd([0.3, 0.3])).toBe(0);
  });

  it('refuses fewer than two values', () => {
    expect(() => sampleSd([1])).toThrow('fewer than two values');
  });
});
