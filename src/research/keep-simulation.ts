import { summarize } from '../eval/scoring.js';
import { CATEGORIES, type CaseOutcomeInput, type EvalSummary } from '../eval/summary.js';
import { applyCouncilRules, type CouncilThresholds, type NoiseGuard } from './council-rules.js';
import { rng } from '../stats/seeded-random.js';

/**
 * Seeded simulations of the keep rule on the suite's layout, through the project's own `summarize` and
 * `applyCouncilRules`: how often eval noise alone keeps an adapter. Pure: no I/O, deterministic for a seed.
 *
 * The noise model: each case of a suite is either stable (always the same score for adapters of equal quality)
 * or flaky (a fair coin between pass and fail on every evaluation). Two evaluations of equal adapters then
 * differ on half the flaky cases, so a suite with flaky fraction 2q differs on a fraction q of its cases.
 */
export interface SimulationLayout {
  agents: readonly string[];
  /** Cases per agent; categories cycle, so 25 gives five per category. */
  casesPerAgent: number;
  /** Expected fraction of cases on which two evaluations of equal adapters differ (0.05 to 0.25 measured). */
  differing: number;
  /** A stable non-jailbreak case passes with this probability when the suite is drawn; jailbreak cases always do. */
  stablePassRate: number;
}

export interface SimulationRules {
  thresholds: CouncilThresholds;
  noiseGuard: NoiseGuard;
}

/** Keep rates of the seed's rules and of the seed's rules plus the noise guard, over the same draws. */
export interface KeepRates {
  trials: number;
  seedKeeps: number;
  guardKeeps: number;
  /** Mean fraction of cases whose scores differ between the two runs. */
  meanDiffering: number;
}

export interface NightRates {
  nights: number;
  /** Nights with at least one keep, under each rule. */
  seedAnyKeep: number;
  guardAnyKeep: number;
  /** Mean of (the final champion's recorded overall minus its true expected overall), under each rule. */
  seedInflation: number;
  guardInflation: number;
}

interface SimCase {
  id: string;
  agent: string;
  category: (typeof CATEGORIES)[number];
  /** Probability of passing on one evaluation: 0 or 1 when stable, 0.5 when flaky. */
  p: number;
}

function drawSuite(layout: SimulationLayout, random: () => number): SimCase[] {
  const flaky = Math.min(1, 2 * layout.differing);
  return layout.agents.flatMap((agent) =>
    Array.from({ length: layout.casesPerAgent }, (_, i) => {
      const category = CATEGORIES[i % CATEGORIES.length]!;
      const stable = category === 'jailbreak' || random() < layout.stablePassRate ? 1 : 0;
      return { id: `${agent}.${i}`, agent, category, p: random() < flaky ? 0.5 : stable };
    }),
  );
}

function evaluate(cases: readonly SimCase[], agents: readonly string[], random: () => number): EvalSummary {
  const outcomes: CaseOutcomeInput[] = cases.map((c) => {
    const score = random() < c.p ? 1 : 0;
    return { id: c.id, agent: c.agent, category: c.category, score, pass: score === 1 };
  });
  return summarize({
    runId: 'sim',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: 'sim',
    adapterSha256: null,
    suiteSha256: '0'.repeat(64),
    seconds: 0,
    agents,
    cases: outcomes,
  });
}

/** The true expected overall of an adapter whose cases pass with these probabilities (macro over agents). */
function expectedOverall(cases: readonly SimCase[], agents: readonly string[]): number {
  return agents.reduce((sum, a) => {
    const own = cases.filter((c) => c.agent === a);
    return sum + own.reduce((s, c) => s + c.p, 0) / own.length / agents.length;
  }, 0);
}

function judgeBoth(candidate: EvalSummary, champion: EvalSummary, rules: SimulationRules): { seed: boolean; guard: boolean } {
  // Judged twice: with the guard on, the regression cap also reads the noise, so its verdict is not the seed's.
  const seed = applyCouncilRules(candidate, champion, rules.thresholds, { ...rules.noiseGuard, enabled: false });
  const guarded = applyCouncilRules(candidate, champion, rules.thresholds, { ...rules.noiseGuard, enabled: true });
  return { seed: seed.decision === 'keep', guard: guarded.decision === 'keep' };
}

/**
 * Candidate and champion of equal quality: each trial draws a suite and evaluates it twice. With `worseCases`
 * > 0 the candidate instead always fails that many cases (one per agent, round robin) that the champion always
 * passes, so it is truly worse by worseCases / (agents · casesPerAgent) overall.
 */
export function simulatePairs(layout: SimulationLayout, rules: SimulationRules, trials: number, seed: number, worseCases = 0): KeepRates {
  const random = rng(seed);
  let seedKeeps = 0;
  let guardKeeps = 0;
  let differing = 0;
  for (let t = 0; t < trials; t += 1) {
    const suite = drawSuite(layout, random);
    const worse = worsen(suite, layout, worseCases);
    const champion = evaluate(suite, layout.agents, random);
    const candidate = evaluate(worse, layout.agents, random);
    const k = judgeBoth(candidate, champion, rules);
    if (k.seed) seedKeeps += 1;
    if (k.guard) guardKeeps += 1;
    differing += candidate.cases.filter((c, i) => c.score !== champion.cases[i]!.score).length / suite.length;
  }
  return { trials, seedKeeps: seedKeeps / trials, guardKeeps: guardKeeps / trials, meanDiffering: differing / trials };
}

/** The candidate's view of the suite: `count` stable passing cases, spread round robin over the agents, now always fail. */
function worsen(suite: readonly SimCase[], layout: SimulationLayout, count: number): SimCase[] {
  const out = suite.map((c) => ({ ...c }));
  let turn = 0;
  for (let k = 0; k < count; k += 1) {
    let target: SimCase | undefined;
    // An agent can, rarely, draw no stable passing case; the next agent then loses one instead.
    for (let tries = 0; !target && tries < layout.agents.length; tries += 1, turn += 1) {
      const agent = layout.agents[turn % layout.agents.length]!;
      target = out.find((c) => c.agent === agent && c.p === 1 && c.category !== 'jailbreak');
    }
    if (!target) throw new Error('the simulated suite has no stable passing case left to lose');
    target.p = 0;
  }
  return out;
}

/**
 * Nights of `experiments` experiments with no real progress: every adapter is equal to the baseline. The
 * champion starts as the baseline's evaluation and is replaced by each kept candidate's evaluation, so its
 * recorded score drifts above the truth (the winner's curse). The two rules follow their own champions.
 */
export function simulateNights(layout: SimulationLayout, rules: SimulationRules, nights: number, experiments: number, seed: number): NightRates {
  const random = rng(seed);
  const tally = { seed: { any: 0, inflation: 0 }, guard: { any: 0, inflation: 0 } };
  for (let n = 0; n < nights; n += 1) {
    const suite = drawSuite(layout, random);
    const truth = expectedOverall(suite, layout.agents);
    const baseline = evaluate(suite, layout.agents, random);
    const champion = { seed: baseline, guard: baseline };
    const kept = { seed: false, guard: false };
    for (let e = 0; e < experiments; e += 1) {
      // One evaluation per experiment: the same candidate run is judged by both rules against their champions.
      const candidate = evaluate(suite, layout.agents, random);
      if (judgeBoth(candidate, champion.seed, rules).seed) {
        champion.seed = candidate;
        kept.seed = true;
      }
      if (judgeBoth(candidate, champion.guard, rules).guard) {
        champion.guard = candidate;
        kept.guard = true;
      }
    }
    for (const rule of ['seed', 'guard'] as const) {
      if (kept[rule]) tally[rule].any += 1;
      tally[rule].inflation += champion[rule].overall - truth;
    }
  }
  return {
    nights,
    seedAnyKeep: tally.seed.any / nights,
    guardAnyKeep: tally.guard.any / nights,
    seedInflation: tally.seed.inflation / nights,
    guardInflation: tally.guard.inflation / nights,
  };
}

/** How often the regression cap alone vetoes, under the seed's rule and with the noise guard on. */
export interface RegressionVetoRates {
  trials: number;
  seedVetoes: number;
  guardVetoes: number;
}

/**
 * The regression cap's verdict on a candidate that truly loses `lostCases` of one agent's (the first agent's)
 * stable passing cases, everything else equal: with 0 it measures vetoes on noise alone, with more how often a
 * real regression is caught. Only the regression verdict is counted, so the other rules do not hide it.
 */
export function simulateRegressionVetoes(layout: SimulationLayout, rules: SimulationRules, trials: number, seed: number, lostCases: number): RegressionVetoRates {
  const random = rng(seed);
  const agent = layout.agents[0]!;
  let seedVetoes = 0;
  let guardVetoes = 0;
  for (let t = 0; t < trials; t += 1) {
    const suite = drawSuite(layout, random);
    const losable = suite.filter((c) => c.agent === agent && c.p === 1);
    const lost = new Set(losable.slice(0, lostCases).map((c) => c.id));
    const worse = suite.map((c) => (lost.has(c.id) ? { ...c, p: 0 } : c));
    const champion = evaluate(suite, layout.agents, random);
    const candidate = evaluate(worse, layout.agents, random);
    const regression = (enabled: boolean) =>
      applyCouncilRules(candidate, champion, rules.thresholds, { ...rules.noiseGuard, enabled }).verdicts.find((v) => v.rule === 'regression-cap')!.passed;
    if (!regression(false)) seedVetoes += 1;
    if (!regression(true)) guardVetoes += 1;
  }
  return { trials, seedVetoes: seedVetoes / trials, guardVetoes: guardVetoes / trials };
}
