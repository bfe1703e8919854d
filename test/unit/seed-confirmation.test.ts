import { describe, expect, it } from 'vitest';
import { formatKeepCount, keepRates } from '../../src/research/seed-confirmation.js';

// Overall scores standing in for runs; the rule keeps a lead of 0.05 or more.
const keeps = (candidate: { overall: number }, champion: { overall: number }) => candidate.overall - champion.overall >= 0.05;
const runs = (...overalls: number[]) => overalls.map((overall) => ({ overall }));

describe('keepRates', () => {
  it('in an A/A test, one lucky seed is kept alone but never confirmed by a second seed', () => {
    // bench noise's four baseline seeds (round 5): seed 3 learnt identity, the others did not.
    const baseline = runs(0.268, 0.266, 0.255, 0.336);
    const rates = keepRates(baseline, baseline, keeps);
    expect(rates.single).toEqual({ keeps: 3, total: 12 });
    expect(rates.confirmed).toEqual({ keeps: 0, total: 12 });
  });

  it('between two sections, a real lead is confirmed where both seeds clear the champion', () => {
    const good = runs(0.408, 0.389, 0.363);
    const baseline = runs(0.268, 0.266, 0.255, 0.336);
    const rates = keepRates(good, baseline, keeps);
    // Against 0.336 only 0.408 and 0.389 keep; against the others all three do.
    expect(rates.single).toEqual({ keeps: 11, total: 12 });
    expect(rates.confirmed).toEqual({ keeps: 10, total: 12 });
  });

  it('never judges a run against itself', () => {
    const one = runs(0.5);
    expect(keepRates(one, one, () => true)).toEqual({ single: { keeps: 0, total: 0 }, confirmed: { keeps: 0, total: 0 } });
  });

  it('formats a count with its share', () => {
    expect(formatKeepCount({ keeps: 3, total: 12 })).toBe('3/12 (25%)');
    expect(formatKeepCount({ keeps: 0, total: 0 })).toBe('0/0');
  });
});
