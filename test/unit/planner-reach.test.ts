import { describe, expect, it } from 'vitest';
import { experimentsToReach, medianCurve, reachRatio, showReach } from '../../bench/planner-reach.js';

describe('medianCurve', () => {
  it('takes the median across curves at each experiment', () => {
    expect(medianCurve([[0.7, 0.8, 0.9], [0.7, 0.7, 0.7], [0.7, 0.75, 0.95]], 3)).toEqual([0.7, 0.75, 0.9]);
  });

  it('reads only the first points of longer curves, as a shorter night would have been', () => {
    expect(medianCurve([[1, 2, 3, 99], [1, 4, 5, 99]], 3)).toEqual([1, 3, 4]);
  });

  it('refuses a curve shorter than asked', () => {
    expect(() => medianCurve([[1, 2, 3], [1, 2]], 3)).toThrow(/curve 1 has 2 points, fewer than the 3/);
  });
});

describe('experimentsToReach', () => {
  it.each([
    ['already at the baseline', [0.9, 0.8], 0.9, 0],
    ['first point at or over the level', [0.7, 0.8, 0.86, 0.9], 0.85, 2],
    ['a dip after reaching it does not move the count', [0.7, 0.9, 0.8], 0.85, 1],
    ['a rounding hair below counts as reached', [0.7, 0.85 - 1e-13], 0.85, 1],
    ['never within the curve', [0.7, 0.8, 0.84], 0.85, null],
  ])('%s', (_name, curve, level, k) => expect(experimentsToReach(curve, level)).toBe(k));
});

describe('reachRatio', () => {
  it.each([
    ['both reached: a plain ratio', { experiments: 20, horizon: 30 }, { experiments: 40, horizon: 90 }, '0.50'],
    ['random never within its horizon: an upper bound against horizon + 1', { experiments: 21, horizon: 30 }, { experiments: null, horizon: 90 }, '<0.23'],
    ['the planner never, random did: a lower bound', { experiments: null, horizon: 30 }, { experiments: 20, horizon: 90 }, '>1.55'],
    ['neither reached: nothing to say', { experiments: null, horizon: 30 }, { experiments: null, horizon: 90 }, '-'],
    ['random already there at the baseline: no ratio', { experiments: 0, horizon: 30 }, { experiments: 0, horizon: 90 }, '-'],
  ])('%s', (_name, planner, random, text) => expect(reachRatio(planner, random)).toBe(text));
});

describe('showReach', () => {
  it('prints the count, or past the horizon when not reached', () => {
    expect(showReach({ experiments: 7, horizon: 30 })).toBe('7');
    expect(showReach({ experiments: null, horizon: 90 })).toBe('>90');
  });
});
