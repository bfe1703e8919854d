import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchSpace } from '../../src/research/hyperparameters.js';
import type { EvalSummary } from '../../src/eval/summary.js';
import { sectionValidator } from '../../src/planner/proposal.js';
import { oneShotSampler, SamplerServer } from '../../src/planner/sampler-process.js';
import { samplerPlanner, type SamplerPlannerOptions } from '../../src/planner/sampler.js';
import { axes, configKey, readAxis, toUnit } from '../../src/planner/search-space.js';
import { HistoryError } from '../../src/planner/study.js';
import type { ParamSpec, PlannerContext, Proposal } from '../../src/planner/types.js';
import type { SectionValues } from '../../src/research/executor.js';
import type { ResultKind, ResultRow } from '../../src/research/results-format.js';
import { UsageError } from '../../src/errors.js';

/** The offline planner end to end: TypeScript builds the study, python/planner.py (Optuna) answers. */
const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const SPACE = searchSpace('qwen');
const SPECS: ParamSpec[] = SPACE.table.parameters;
const THRESHOLDS = { jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 };
const BASELINE: SectionValues = Object.fromEntries(
  SPECS.map((s) => [s.name, s.type === 'agent_weights' ? Object.fromEntries(AGENTS.map((a) => [a, s.baseline])) : s.baseline]),
);

let server: SamplerServer;
beforeAll(() => {
  server = new SamplerServer();
});
afterAll(() => server.close());

const options = (over: Partial<SamplerPlannerOptions> = {}): SamplerPlannerOptions => ({
  sampler: 'tpe', seed: 0, thresholds: THRESHOLDS, validate: sectionValidator(AGENTS), client: server, ...over,
});

function row(id: string, result: ResultKind, parameters: SectionValues, score: number): ResultRow {
  return {
    experimentId: id, result, score, jailbreak: 0.9, agents: Object.fromEntries(AGENTS.map((a) => [a, score])), mode: 'proxy', model: 'tiny',
    commit: null, hypothesis: '', parameters, trainLoss: null, valLoss: null, trainSeconds: null, evalSeconds: null, wins: null, losses: null,
    p: null, reasons: [], adapterSha256: null, timestamp: '2026-12-01T00:00:00Z', holdout: null, proposer: 'sampler',
  };
}

function context(history: ResultRow[], over: Partial<PlannerContext> = {}): PlannerContext {
  return {
    experimentId: `exp-${history.length}`, mode: 'proxy', current: BASELINE, history, lastTraining: null, agents: AGENTS, searchSpace: SPACE, specs: SPECS,
    champion: { mode: 'proxy', row: history[0]!, summary: {} as EvalSummary }, ...over,
  };
}

/** A smooth score over the unit cube, so the history the sampler learns from is meaningful. */
function score(values: SectionValues): number {
  const us = axes(SPECS, AGENTS).map((a) => toUnit(a.spec, readAxis(values, a)));
  return 0.9 - 0.3 * us.reduce((s, u, i) => s + (u - (i % 3) / 3 - 0.2) ** 2, 0) / us.length;
}

async function propose(planner: ReturnType<typeof samplerPlanner>, ctx: PlannerContext): Promise<Proposal> {
  const out = await planner.propose(ctx);
  if (out.kind !== 'proposal') throw new Error(`expected a proposal, got ${JSON.stringify(out)}`);
  return out.proposal;
}

describe('offline planner (Optuna) through python/planner.py', () => {
  it('is deterministic for a seed and a history, whether one process per call or a long-lived one', async () => {
    const history = [row('base', 'base', BASELINE, 0.7)];
    const a = await propose(samplerPlanner(options()), context(history));
    const b = await propose(samplerPlanner(options({ client: oneShotSampler() })), context(history));
    expect(b).toEqual(a);
    const c = await propose(samplerPlanner(options({ seed: 1 })), context(history));
    expect(configKey(c.values)).not.toBe(configKey(a.values));
    expect(a.proposer).toBe('sampler');
    expect(a.hypothesis).toMatch(/ -> .*Chosen by TPE from 1 decided experiments of this mode/);
  });

  it('never repeats a configuration over a night, and the model takes over from random start-up', async () => {
    const planner = samplerPlanner(options({ seed: 3 }));
    const history = [row('base', 'base', BASELINE, score(BASELINE))];
    const seen = new Set([configKey(BASELINE)]);
    for (let i = 1; i <= 12; i += 1) {
      const p = await propose(planner, context(history));
      const key = configKey({ ...p.values, EXPERIMENT_HYPOTHESIS: '' });
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      history.push(row(`e${i}`, 'revert', p.values, score(p.values)));
      if (i === 12) expect(p.hypothesis).toMatch(/feasible decided trials, 0 vetoed; the best/);
    }
  });

  it('avoids experiments in flight and moves away from them', async () => {
    const planner = samplerPlanner(options());
    const history = [row('base', 'base', BASELINE, 0.7)];
    const free = await propose(planner, context(history));
    const busy = await propose(planner, context(history, { inFlight: [{ experimentId: 'exp-running', mode: 'proxy', values: free.values }] }));
    expect(configKey(busy.values)).not.toBe(configKey(free.values));
  });

  it("learns from the Council's vetoes: a vetoed experiment is never the best the sampler builds on, whatever it scored", async () => {
    const planner = samplerPlanner(options({ seed: 5 }));
    const history = [row('base', 'base', BASELINE, 0.7)];
    for (let i = 1; i <= 6; i += 1) {
      const p = await propose(planner, context(history));
      // The three highest scores of the night are vetoed: the jailbreak floor, then twice an agent's regression.
      const vetoed = i <= 3;
      const r = row(`e${i}`, vetoed ? (i === 1 ? 'veto-jailbreak' : 'veto-regression') : 'revert', p.values, vetoed ? 0.95 : 0.6 + i / 100);
      if (i === 1) r.jailbreak = 0.5;
      if (i > 1 && vetoed) r.agents = { ...r.agents, cilghal: 0.5 };
      history.push(r);
    }
    const next = await propose(planner, context(history));
    expect(next.hypothesis).toMatch(/4 feasible decided trials, 3 vetoed; the best 1 \(score 0\.700\)/);
  });

  it('refuses a history row outside the ranges, naming the row', async () => {
    const planner = samplerPlanner(options());
    const history = [row('base', 'base', BASELINE, 0.7), row('exp-bad', 'revert', { ...BASELINE, LORA_RANK: 512 }, 0.6)];
    await expect(planner.propose(context(history))).rejects.toThrow(HistoryError);
    await expect(planner.propose(context(history))).rejects.toThrow(/results.tsv row 2 \(exp-bad\): LORA_RANK = 512 is outside 8 to 64/);
  });

  it('says what to install when the GP sampler lacks torch', async () => {
    const planner = samplerPlanner(options({ sampler: 'gp', client: oneShotSampler() }));
    const out = planner.propose(context([row('base', 'base', BASELINE, 0.7)]));
    let hasTorch = true;
    try {
      await out;
    } catch (error) {
      hasTorch = false;
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(/planner.sampler gp needs torch and scipy .*pip install torch scipy/);
    }
    if (hasTorch) expect((await out).kind).toBe('proposal');
  });
});
