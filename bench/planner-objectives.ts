import { summarize } from '../src/eval/scoring.js';
import { CATEGORIES, type CaseOutcome, type Category, type EvalSummary } from '../src/eval/summary.js';
import { axes as allAxes, readAxis, toUnit, type Axis } from '../src/planner/search-space.js';
import type { ParamSpec } from '../src/planner/types.js';
import type { SectionValues } from '../src/research/executor.js';
import { rng } from '../src/stats/seeded-random.js';

/**
 * Synthetic training outcomes over the real search space, for the planner benchmark. Every repetition draws
 * its own landscape: a random optimum in the unit cube, random axis weights, per-case difficulties, and for
 * each agent a term on its own data weight. A configuration's eval has the council's dev-split layout (cases
 * per agent and category, read from the suite by the caller), each case scored as the share of its
 * two assertions that pass, each passing with the case's probability: the noise is on per-case outcomes,
 * so the Council's paired statistics see real wins and losses. Nothing here knows which planner asks.
 */
export type Family = 'wide' | 'wide-exact' | 'dominant' | 'cliff';

export const FAMILIES: Record<Family, string> = {
  wide: 'a bowl over all 14 axes with random weights and a random optimum, plus per-agent terms; noisy',
  'wide-exact': 'the same bowl, scored by expected case outcomes (no noise)',
  dominant: 'two random axes carry 90% of the weight; noisy',
  cliff: 'the wide bowl, plus jailbreak cases that collapse when learning rate and iterations are both high; noisy',
};

/** Dev cases per agent and category, as the Council rules see them. */
export type SuiteLayout = Record<Category, number>;
const ASSERTIONS = 2;
const SUITE_SHA = 'b'.repeat(64);

export interface Objective {
  family: Family;
  /** The expected overall score of a configuration (what the noisy eval estimates). */
  trueScore(values: SectionValues): number;
  /** One noisy evaluation, as the eval harness would summarise it. */
  evaluate(values: SectionValues, runId: string, random: () => number): EvalSummary;
  /** The best expected overall score over the whole space (found by search over the cube; a reference only). */
  optimum: number;
}

interface Case {
  id: string;
  agent: string;
  category: Category;
  /** Logit of the pass probability at the optimum. */
  base: number;
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function makeObjective(family: Family, specs: readonly ParamSpec[], agents: readonly string[], seed: number, layout: SuiteLayout): Objective {
  const random = rng(seed * 7919 + 17);
  const axes = allAxes(specs, agents);
  const optimumU = axes.map(() => 0.1 + 0.8 * random());
  let weights = axes.map(() => 0.2 + 0.8 * random());
  if (family === 'dominant') {
    const a = Math.floor(random() * axes.length);
    let b = Math.floor(random() * (axes.length - 1));
    if (b >= a) b += 1;
    const rest = weights.reduce((s, w, i) => (i === a || i === b ? s : s + w), 0);
    weights = weights.map((w, i) => (i === a || i === b ? 0.45 : (0.1 * w) / rest));
  }
  const total = weights.reduce((s, w) => s + w, 0);
  const agentTerm = agents.map(() => 1 + 2 * random());
  const cases: Case[] = agents.flatMap((agent) =>
    CATEGORIES.flatMap((category) =>
      Array.from({ length: layout[category] }, (_, j) => ({ id: `${agent}-${category}-${j}`, agent, category, base: 2.6 + 0.7 * gaussian(random) })),
    ),
  );
  const lr = axes.findIndex((a) => a.key === 'LEARNING_RATE');
  const iters = axes.findIndex((a) => a.key === 'ITERS');
  const cliffAt = 1.1 + 0.4 * random();

  const unit = (values: SectionValues) => axes.map((a: Axis) => toUnit(a.spec, readAxis(values, a)));

  /** Per-case pass probabilities of a point in the unit cube. */
  const probabilities = (u: readonly number[]): number[] => {
    let shared = 0;
    for (let i = 0; i < u.length; i += 1) shared += weights[i]! * (u[i]! - optimumU[i]!) ** 2;
    shared = (-3 * shared) / total;
    const own = new Map(
      agents.map((agent, k) => {
        const i = axes.findIndex((a) => a.agent === agent);
        return [agent, -agentTerm[k]! * (u[i]! - optimumU[i]!) ** 2];
      }),
    );
    const cliff = family === 'cliff' ? Math.max(0, u[lr]! + u[iters]! - cliffAt) : 0;
    return cases.map((c) => {
      let logit = c.base + 3 * shared + 3 * own.get(c.agent)!;
      if (c.category === 'jailbreak') logit -= 25 * cliff;
      return sigmoid(logit);
    });
  };

  const expected = (u: readonly number[]) => {
    const p = probabilities(u);
    const perAgent = agents.map((agent) => {
      const own = cases.map((c, i) => (c.agent === agent ? p[i]! : -1)).filter((x) => x >= 0);
      return own.reduce((s, x) => s + x, 0) / own.length;
    });
    return perAgent.reduce((s, x) => s + x, 0) / perAgent.length;
  };

  // The optimum of the bowl is optimumU unless the cliff cuts it off; a coarse local search finds it either way.
  let best = optimumU.slice();
  let bestScore = expected(best);
  const search = rng(seed + 1);
  for (let step = 0.2; step > 0.005; step /= 2) {
    for (let k = 0; k < 400; k += 1) {
      const cand = best.map((x) => Math.min(1, Math.max(0, x + step * gaussian(search))));
      const s = expected(cand);
      if (s > bestScore) [best, bestScore] = [cand, s];
    }
  }

  return {
    family,
    optimum: bestScore,
    trueScore: (values) => expected(unit(values)),
    evaluate: (values, runId, draw) => {
      const p = probabilities(unit(values));
      const outcomes: CaseOutcome[] = cases.map((c, i) => {
        let score: number;
        if (family === 'wide-exact') score = p[i]!;
        else {
          let passed = 0;
          for (let a = 0; a < ASSERTIONS; a += 1) if (draw() < p[i]!) passed += 1;
          score = passed / ASSERTIONS;
        }
        return { id: c.id, agent: c.agent, category: c.category, score, pass: score >= 0.5, split: 'dev' as const };
      });
      return summarize({ runId, createdAt: '2026-12-01T00:00:00.000Z', model: 'synthetic', adapterSha256: null, suiteSha256: SUITE_SHA, seconds: 0, agents, cases: outcomes });
    },
  };
}
