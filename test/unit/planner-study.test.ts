import { describe, expect, it } from 'vitest';
import { searchSpace } from '../../src/research/hyperparameters.js';
import type { EvalSummary } from '../../src/eval/summary.js';
import { experimentsSoFar, isClaudeTurn } from '../../src/planner/hybrid.js';
import { HistoryError, sectionFromParams, studyAxes, studyInput } from '../../src/planner/study.js';
import type { ParamSpec, PlannerContext } from '../../src/planner/types.js';
import type { SectionValues } from '../../src/research/executor.js';
import type { ResultKind, ResultRow } from '../../src/research/results-format.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const SPACE = searchSpace('qwen');
const SPECS: ParamSpec[] = SPACE.table.parameters;
const THRESHOLDS = { jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 };
const BASELINE: SectionValues = Object.fromEntries(
  SPECS.map((s) => [s.name, s.type === 'agent_weights' ? Object.fromEntries(AGENTS.map((a) => [a, s.baseline])) : s.baseline]),
);
const withRank = (rank: number): SectionValues => ({ ...BASELINE, LORA_RANK: rank });

function row(id: string, result: ResultKind, parameters: SectionValues | null, over: Partial<ResultRow> = {}): ResultRow {
  return {
    experimentId: id, result, score: 0.8, jailbreak: 0.9, agents: Object.fromEntries(AGENTS.map((a) => [a, 0.8])), mode: 'proxy', model: 'tiny',
    commit: null, hypothesis: '', parameters, trainLoss: null, valLoss: null, trainSeconds: null, evalSeconds: null, wins: null, losses: null,
    p: null, reasons: [], adapterSha256: null, timestamp: '2026-12-01T00:00:00Z', holdout: 0.99, proposer: null, ...over,
  };
}

function context(history: ResultRow[], over: Partial<PlannerContext> = {}): PlannerContext {
  const base = history.find((r) => r.result === 'base') ?? row('base', 'base', BASELINE);
  return {
    experimentId: 'exp-next', mode: 'proxy', current: BASELINE, history, lastTraining: null, agents: AGENTS, searchSpace: SPACE, specs: SPECS,
    champion: { mode: 'proxy', row: base, summary: {} as EvalSummary }, ...over,
  };
}

describe('results.tsv as an Optuna study', () => {
  it('has one axis per scalar and per agent weight, the learning rate on a log scale, integers as integers', () => {
    const { study } = studyAxes({ specs: SPECS, agents: AGENTS });
    expect(study).toHaveLength(8 + AGENTS.length);
    expect(study.find((a) => a.key === 'LEARNING_RATE')).toEqual({ key: 'LEARNING_RATE', type: 'float', low: 1e-6, high: 1e-4, log: true });
    expect(study.find((a) => a.key === 'LORA_RANK')).toMatchObject({ type: 'int', log: false });
    expect(study.find((a) => a.key === 'PER_AGENT_WEIGHTS.windu')).toEqual({ key: 'PER_AGENT_WEIGHTS.windu', type: 'float', low: 0.5, high: 2, log: false });
  });

  it('tells decided rows with their score, vetoes as violated constraints, crashes as failures; skips invalid rows', () => {
    const history = [
      row('base', 'base', BASELINE, { score: 0.8 }),
      row('e1', 'keep', withRank(40), { score: 0.84 }),
      row('e2', 'veto-jailbreak', withRank(48), { score: 0.9, jailbreak: 0.5 }),
      row('e3', 'veto-regression', withRank(56), { score: 0.85, agents: { ...Object.fromEntries(AGENTS.map((a) => [a, 0.85])), windu: 0.6 } }),
      row('e4', 'crash', withRank(64), { score: null, jailbreak: null }),
      row('e5', 'invalid', null, { score: null }),
      row('e6', 'revert', withRank(8), { score: null, jailbreak: null }),
    ];
    const input = studyInput(context(history), THRESHOLDS);
    expect(input.trials.map((t) => [t.label, t.state, t.value])).toEqual([
      ['results.tsv row 1 (base)', 'complete', 0.8],
      ['results.tsv row 2 (e1)', 'complete', 0.84],
      ['results.tsv row 3 (e2)', 'complete', 0.9],
      ['results.tsv row 4 (e3)', 'complete', 0.85],
      ['results.tsv row 5 (e4)', 'fail', null],
      ['results.tsv row 7 (e6)', 'fail', null],
    ]);
    expect(input.trials[1]!.constraints).toEqual({ jailbreak: -0.2, regression: -0.1 });
    expect(input.trials[2]!.constraints!.jailbreak).toBeCloseTo(0.2);
    // Every trial is measured against the current champion (here the baseline): windu 0.8 -> 0.6 drops 0.2, past the 0.1 cap.
    expect(input.trials[3]!.constraints!.regression).toBeCloseTo(0.1);
    const better = studyInput(context(history, { champion: { mode: 'proxy', row: row('c', 'keep', withRank(40), { agents: Object.fromEntries(AGENTS.map((a) => [a, 0.95])) }), summary: {} as EvalSummary } }), THRESHOLDS);
    expect(better.trials[1]!.constraints!.regression).toBeCloseTo(0.05);
    expect(input.trials[1]!.params).toMatchObject({ LORA_RANK: 40, LEARNING_RATE: 5e-6, 'PER_AGENT_WEIGHTS.yoda': 1 });
  });

  it('never carries the holdout score', () => {
    const input = studyInput(context([row('base', 'base', BASELINE, { holdout: 0.123456 })]), THRESHOLDS);
    expect(JSON.stringify(input)).not.toContain('0.123456');
  });

  it("only tells rows of the champion's mode and model, but never lets another mode's configurations be proposed again", () => {
    const history = [row('base', 'base', BASELINE), row('f1', 'keep', withRank(24), { mode: 'full', model: 'big' }), row('p1', 'revert', withRank(16))];
    const input = studyInput(context(history), THRESHOLDS);
    expect(input.trials.map((t) => t.label)).toEqual(['results.tsv row 1 (base)', 'results.tsv row 3 (p1)']);
    expect(input.tried.map((p) => p.LORA_RANK)).toEqual([32, 24, 16, 32]);
  });

  it('passes experiments in flight as running trials', () => {
    const input = studyInput(context([row('base', 'base', BASELINE)], { inFlight: [{ experimentId: 'exp-running', mode: 'proxy', values: withRank(12) }] }), THRESHOLDS);
    expect(input.trials.at(-1)).toMatchObject({ label: 'in-flight experiment 1', state: 'running', value: null, constraints: null });
    expect(input.trials.at(-1)!.params.LORA_RANK).toBe(12);
    expect(input.tried.some((p) => p.LORA_RANK === 12)).toBe(true);
  });

  it('refuses rows it cannot read, naming each row and the fix', () => {
    const history = [
      row('base', 'base', BASELINE),
      row('e1', 'revert', withRank(128)),
      row('e2', 'revert', { ...BASELINE, DROPOUT: 'high' as never }),
      row('e3', 'revert', { ...BASELINE, ITERS: 100.5 }),
    ];
    expect(() => studyInput(context(history), THRESHOLDS)).toThrow(HistoryError);
    expect(() => studyInput(context(history), THRESHOLDS)).toThrow(
      /cannot read 3 rows of results.tsv: results.tsv row 2 \(e1\): LORA_RANK = 128 is outside 8 to 64; results.tsv row 3 \(e2\): DROPOUT is not a number \("high"\); results.tsv row 4 \(e3\): ITERS = 100.5 is not an integer\. Fix those rows/,
    );
  });

  it('turns a sampler point back into a section, quantized like every other value', () => {
    const values = sectionFromParams(BASELINE, studyAxes({ specs: SPECS, agents: AGENTS }).axes, { LEARNING_RATE: 1.234e-5, 'PER_AGENT_WEIGHTS.mundi': 1.456 });
    expect(values.LEARNING_RATE).toBe(1.2e-5);
    expect(values.PER_AGENT_WEIGHTS).toEqual({ ...(BASELINE.PER_AGENT_WEIGHTS as object), mundi: 1.46 });
  });
});

describe('the hybrid share', () => {
  it.each([
    [0.3, [3, 6, 9, 13, 16, 19]],
    [0.5, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]],
    [0, []],
    [1, Array.from({ length: 20 }, (_, i) => i)],
  ])('share %s gives Claude experiments %j of the first 20', (share, expected) => {
    expect(Array.from({ length: 20 }, (_, n) => n).filter((n) => isClaudeTurn(n, share))).toEqual(expected);
  });

  it('counts experiments, not baselines', () => {
    expect(experimentsSoFar({ history: [row('b', 'base', BASELINE), row('e', 'revert', BASELINE), row('i', 'invalid', null)] })).toBe(2);
  });
});
