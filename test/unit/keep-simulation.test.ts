import { describe, expect, it } from 'vitest';
import { simulateNights, simulatePairs, simulateRegressionVetoes, type SimulationLayout, type SimulationRules } from '../../src/research/keep-simulation.js';
import { rng } from '../../src/stats/seeded-random.js';

/**
 * Issue 11's measurement, reproduced: on the suite's layout (6 agents, 25 cases each), two adapters of equal
 * quality are kept by the seed's rules about a fifth of the time. The noise guard must bring that to about 5%.
 * Seeded, so the figures are the same on every run; enough trials that they do not hinge on the seed.
 */
const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const RULES: SimulationRules = {
  thresholds: { jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 },
  noiseGuard: { enabled: true, z: 1.645 },
};
const layout = (differing: number): SimulationLayout => ({ agents: AGENTS, casesPerAgent: 25, differing, stablePassRate: 0.6 });
const TRIALS = 1500;
const SLOW = 180_000;

describe('the seeded generator', () => {
  it('is deterministic and uniform enough', () => {
    const a = rng(42);
    const b = rng(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});

describe('equal adapters (A/A): how often noise alone keeps', () => {
  const rates = [0.05, 0.1, 0.15, 0.2, 0.25].map((q, i) => ({ q, ...simulatePairs(layout(q), RULES, TRIALS, 1000 + i) }));

  it('the simulated runs differ on the intended fraction of cases', () => {
    for (const r of rates) expect(r.meanDiffering, `q ${r.q}`).toBeCloseTo(r.q, 2);
  }, SLOW);

  it('the seed rule keeps 18-24% of them over 5-25% differing cases, as measured from outside', () => {
    const pooled = rates.reduce((s, r) => s + r.seedKeeps, 0) / rates.length;
    expect(pooled).toBeGreaterThanOrEqual(0.18);
    expect(pooled).toBeLessThanOrEqual(0.24);
    // Per fraction the band is a little wider: at 5% a keep needs 3 net wins out of ~7 differing cases.
    for (const r of rates) {
      expect(r.seedKeeps, `q ${r.q}`).toBeGreaterThanOrEqual(0.14);
      expect(r.seedKeeps, `q ${r.q}`).toBeLessThanOrEqual(0.26);
    }
  }, SLOW);

  it('the noise guard keeps at most 7% at every fraction', () => {
    for (const r of rates) expect(r.guardKeeps, `q ${r.q}`).toBeLessThanOrEqual(0.07);
  }, SLOW);

  it('with a tiny z the guard lets through nearly everything the seed rule keeps', () => {
    const loose = simulatePairs(layout(0.15), { ...RULES, noiseGuard: { enabled: true, z: 0.1 } }, 500, 7);
    expect(loose.guardKeeps).toBeGreaterThan(0.8 * loose.seedKeeps);
  }, SLOW);
});

describe('a truly worse adapter and a night without progress', () => {
  it('an adapter 0.02 worse (3 of 150 cases lost) is kept by the seed rule, rarely by the guard', () => {
    const r = simulatePairs(layout(0.15), RULES, TRIALS, 2000, 3);
    expect(r.seedKeeps).toBeGreaterThanOrEqual(0.05);
    expect(r.seedKeeps).toBeLessThanOrEqual(0.2);
    expect(r.guardKeeps).toBeLessThanOrEqual(0.02);
  }, SLOW);

  it('six equal experiments: the seed rule keeps at least one most nights and inflates the champion; the guard much less', () => {
    const n = simulateNights(layout(0.15), RULES, 600, 6, 3000);
    expect(n.seedAnyKeep).toBeGreaterThanOrEqual(0.5);
    expect(n.seedAnyKeep).toBeLessThanOrEqual(0.75);
    expect(n.seedInflation).toBeGreaterThan(0.015);
    expect(n.guardAnyKeep).toBeLessThanOrEqual(0.3);
    expect(n.guardInflation).toBeLessThan(n.seedInflation / 1.5);
  }, SLOW);
});

describe('the regression cap on 18 binary cases per agent (the example suite\'s dev layout)', () => {
  const layout18: SimulationLayout = { agents: AGENTS, casesPerAgent: 18, differing: 0.15, stablePassRate: 0.7 };

  it('the seed cap vetoes most equal adapters on noise alone; with the guard, a quarter', () => {
    const r = simulateRegressionVetoes(layout18, RULES, 1500, 4000, 0);
    expect(r.seedVetoes).toBeGreaterThanOrEqual(0.55);
    expect(r.guardVetoes).toBeLessThanOrEqual(0.32);
  }, SLOW);

  it('an agent losing a third of its cases is still vetoed most of the time, and the guard never vetoes more than the seed', () => {
    const lost = [0, 3, 6].map((k) => simulateRegressionVetoes(layout18, RULES, 1000, 4100 + k, k));
    expect(lost[2]!.guardVetoes).toBeGreaterThanOrEqual(0.75);
    for (const r of lost) expect(r.guardVetoes).toBeLessThanOrEqual(r.seedVetoes);
    expect(lost[1]!.guardVetoes).toBeGreaterThan(lost[0]!.guardVetoes);
    expect(lost[2]!.guardVetoes).toBeGreaterThan(lost[1]!.guardVetoes);
  }, SLOW);
});
