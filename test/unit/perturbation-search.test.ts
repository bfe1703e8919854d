import { describe, expect, it } from 'vitest';
import { proposeOffline, replay, STEP_INITIAL, STEP_MAX, STEP_MIN } from '../../bench/perturbation-search.js';
import { axes, configKey } from '../../src/planner/search-space.js';
import type { ParamSpec, PlannerContext } from '../../src/planner/types.js';
import type { SectionValues } from '../../src/research/executor.js';
import { searchSpace } from '../../src/research/hyperparameters.js';
import type { ResultKind, ResultRow } from '../../src/research/results-format.js';
import type { EvalSummary } from '../../src/eval/summary.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const SPACE = searchSpace('qwen');
const SPECS: ParamSpec[] = SPACE.table.parameters;
const only = (...names: string[]) => SPECS.filter((s) => names.includes(s.name));

const BASELINE: SectionValues = Object.fromEntries(
  SPECS.map((s) => [s.name, s.type === 'agent_weights' ? Object.fromEntries(AGENTS.map((a) => [a, s.baseline])) : s.baseline]),
);

function row(result: ResultKind, parameters: SectionValues, id = `exp-${Math.random().toString(36).slice(2, 8)}`): ResultRow {
  return {
    experimentId: id, result, score: 0.8, jailbreak: 0.9, agents: {}, mode: 'proxy', model: 'tiny', commit: null,
    hypothesis: '', parameters, trainLoss: null, valLoss: null, trainSeconds: null, evalSeconds: null,
    wins: null, losses: null, p: null, reasons: [], adapterSha256: null, timestamp: '2026-12-01T00:00:00Z',
    holdout: null, proposer: null,
  };
}

function context(over: Partial<PlannerContext> = {}): PlannerContext {
  return {
    experimentId: 'exp-1', mode: 'proxy', current: BASELINE, history: [row('base', BASELINE)], champion: null,
    lastTraining: null, agents: AGENTS, searchSpace: SPACE, specs: SPECS, ...over,
  };
}

function changedKeys(a: SectionValues, b: SectionValues): string[] {
  return axes(SPECS, AGENTS)
    .filter((axis) => JSON.stringify(axis.agent ? (a[axis.spec.name] as Record<string, number>)[axis.agent] : a[axis.spec.name]) !==
      JSON.stringify(axis.agent ? (b[axis.spec.name] as Record<string, number>)[axis.agent] : b[axis.spec.name]))
    .map((axis) => axis.key);
}

function inRange(values: SectionValues): boolean {
  return SPECS.every((s) => {
    const v = values[s.name];
    const nums = typeof v === 'object' ? Object.values(v) : [v as number];
    return nums.every((n) => n >= s.min && n <= s.max && (s.type !== 'int' || Number.isInteger(n)));
  });
}

const proposal = (ctx: PlannerContext, seed = 0) => {
  const out = proposeOffline(ctx, seed);
  if (out.kind !== 'proposal') throw new Error(`expected a proposal, got ${out.kind}`);
  return out.proposal;
};

describe('offline planner', () => {
  it('is deterministic for a seed and history', () => {
    expect(proposal(context(), 7)).toEqual(proposal(context(), 7));
    const seeds = new Set([0, 1, 2, 3, 4, 5].map((s) => configKey(proposal(context(), s).values)));
    expect(seeds.size).toBeGreaterThan(1);
  });

  it('changes exactly one coordinate, within range, and says what it tests', () => {
    for (let seed = 0; seed < 20; seed += 1) {
      const p = proposal(context(), seed);
      expect(changedKeys(p.values, BASELINE)).toHaveLength(1);
      expect(inRange(p.values)).toBe(true);
      expect(p.hypothesis).toMatch(/ -> .*tests whether .*Chosen because/);
      expect(Object.keys(p.changes)).toHaveLength(1);
    }
  });

  it('never repeats a configuration over a long night of reverts', () => {
    let ctx = context();
    const seen = new Set([configKey(BASELINE)]);
    for (let i = 0; i < 60; i += 1) {
      const p = proposal(ctx, 3);
      const key = configKey(p.values);
      expect(seen.has(key)).toBe(false);
      expect(inRange(p.values)).toBe(true);
      seen.add(key);
      ctx = { ...ctx, history: [...ctx.history, row('revert', p.values)] };
    }
  });

  it('adapts the step: grows after keeps, shrinks after failures, within bounds', () => {
    const all = axes(SPECS, AGENTS);
    expect(replay([row('base', BASELINE)], all, BASELINE).step).toBe(STEP_INITIAL);
    const keeps = Array.from({ length: 10 }, () => row('keep', BASELINE));
    expect(replay(keeps, all, BASELINE).step).toBe(STEP_MAX);
    const fails = Array.from({ length: 30 }, () => row('veto-regression', BASELINE));
    expect(replay(fails, all, BASELINE).step).toBe(STEP_MIN);
    expect(replay([row('revert', BASELINE)], all, BASELINE).step).toBeCloseTo(STEP_INITIAL * 0.85);
    expect(replay([row('invalid', BASELINE)], all, BASELINE).step).toBe(STEP_INITIAL);
  });

  it('pushes a kept move further in the same direction', () => {
    const kept = { ...BASELINE, LEARNING_RATE: 1e-5 };
    const ctx = context({ specs: only('LEARNING_RATE'), current: kept, history: [row('base', BASELINE), row('keep', kept)] });
    for (let seed = 0; seed < 5; seed += 1) {
      const p = proposal(ctx, seed);
      expect(p.values.LEARNING_RATE as number).toBeGreaterThan(1e-5);
      expect(p.hypothesis).toContain('was kept');
    }
  });

  it('tries the other direction after a failed move', () => {
    const failed = { ...BASELINE, LORA_RANK: 48 };
    const ctx = context({ specs: only('LORA_RANK'), history: [row('base', BASELINE), row('veto-jailbreak', failed)] });
    for (let seed = 0; seed < 5; seed += 1) {
      expect(proposal(ctx, seed).values.LORA_RANK as number).toBeLessThan(32);
    }
  });

  it("raises the weakest agent's sampling weight", () => {
    const summary = { perAgent: { yoda: 0.9, jocasta: 0.9, windu: 0.9, quigon: 0.9, cilghal: 0.9, mundi: 0.4 } } as unknown as EvalSummary;
    const ctx = context({
      specs: only('PER_AGENT_WEIGHTS'),
      champion: { mode: 'proxy', row: row('base', BASELINE), summary },
    });
    const picks = [0, 1, 2, 3, 4, 5, 6, 7].map((seed) => proposal(ctx, seed).values.PER_AGENT_WEIGHTS as Record<string, number>);
    const mundiUp = picks.filter((w) => w.mundi! > 1).length;
    expect(mundiUp).toBeGreaterThanOrEqual(4);
    for (const w of picks) expect(Object.keys(w).sort()).toEqual([...AGENTS].sort());
  });

  it('stops when every neighbour has been tried', () => {
    const spec: ParamSpec = { name: 'GRAD_ACCUM', type: 'int', min: 2, max: 3, baseline: 2, description: '' };
    const start = { GRAD_ACCUM: 2 };
    const ctx = context({ specs: [spec], current: start, history: [row('base', start), row('revert', { GRAD_ACCUM: 3 })] });
    const out = proposeOffline(ctx, 0);
    expect(out.kind).toBe('stop');
  });
});

describe('the offline planner with experiments in flight', () => {
  it('never proposes a configuration already in flight, and proposes the same as before when nothing is', () => {
    const alone = proposeOffline(context(), 7);
    expect(proposeOffline(context({ inFlight: [] }), 7)).toEqual(alone);
    if (alone.kind !== 'proposal') throw new Error('expected a proposal');
    const running = { experimentId: 'exp-running', mode: 'full' as const, values: { ...alone.proposal.values, EXPERIMENT_HYPOTHESIS: 'running on the laptop' } };
    const next = proposeOffline(context({ inFlight: [running] }), 7);
    if (next.kind !== 'proposal') throw new Error('expected a proposal');
    expect(configKey(next.proposal.values)).not.toBe(configKey(alone.proposal.values));
  });

  it('avoids every configuration in flight over many seeds', () => {
    for (let seed = 0; seed < 40; seed += 1) {
      const first = proposeOffline(context(), seed);
      if (first.kind !== 'proposal') throw new Error('expected a proposal');
      const inFlight = [{ experimentId: 'exp-a', mode: 'proxy' as const, values: first.proposal.values }];
      const second = proposeOffline(context({ inFlight }), seed);
      if (second.kind !== 'proposal') throw new Error('expected a proposal');
      expect(configKey(second.proposal.values)).not.toBe(configKey(first.proposal.values));
    }
  });
});
