import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/eval/scoring.js';
import { CATEGORIES, type CaseOutcomeInput } from '../../src/eval/summary.js';
import { devOnlyContext } from '../../src/planner/dev-only.js';
import { studyInput } from '../../src/planner/study.js';
import { contextMessage } from '../../src/planner/prompt.js';
import type { ParamSpec, PlannerContext } from '../../src/planner/types.js';
import type { SectionValues } from '../../src/research/executor.js';
import type { ResultRow } from '../../src/research/results-format.js';
import { searchSpace } from '../../src/research/hyperparameters.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const SPACE = searchSpace('qwen');
const SPECS: ParamSpec[] = SPACE.table.parameters;
const BASELINE: SectionValues = Object.fromEntries(
  SPECS.map((s) => [s.name, s.type === 'agent_weights' ? Object.fromEntries(AGENTS.map((a) => [a, s.baseline])) : s.baseline]),
);

/** Five dev cases per agent, and holdout cases with ids and scores that must never reach a planner. */
function champion(holdoutScore: number) {
  const cases: CaseOutcomeInput[] = AGENTS.flatMap((agent, k) => [
    ...CATEGORIES.map((category, i) => ({ id: `${agent}.${category}`, agent, category, score: (i + k) % 2, pass: (i + k) % 2 === 1, split: 'dev' as const })),
    { id: `${agent}.secretholdout`, agent, category: 'tool' as const, score: holdoutScore, pass: holdoutScore === 1, split: 'holdout' as const },
  ]);
  return summarize({ runId: 'champ', createdAt: '2026-12-01T00:00:00Z', model: 'tiny', adapterSha256: null, suiteSha256: 'a'.repeat(64), seconds: 1, agents: AGENTS, cases });
}

function row(id: string, holdout: number | null, result: ResultRow['result'] = 'keep'): ResultRow {
  return {
    experimentId: id, result, score: 0.5, jailbreak: 0.9, agents: Object.fromEntries(AGENTS.map((a) => [a, 0.5])), mode: 'proxy', model: 'tiny',
    commit: null, hypothesis: 'h', parameters: BASELINE, trainLoss: null, valLoss: null, trainSeconds: null, evalSeconds: null, wins: 3,
    losses: 1, p: 0.6, reasons: [], adapterSha256: null, timestamp: '2026-12-01T00:00:00Z', holdout, proposer: 'sampler',
  };
}

function context(holdout: number): PlannerContext {
  const history = [row('base-1', holdout, 'base'), row('exp-2', holdout)];
  return {
    experimentId: 'exp-3', mode: 'proxy', current: BASELINE, history,
    champion: { mode: 'proxy', row: history[1]!, summary: champion(holdout) },
    lastTraining: null, agents: AGENTS, searchSpace: SPACE, specs: SPECS,
  };
}

describe('planners never see the holdout', () => {
  it('devOnlyContext strips the holdout column, cases and aggregate, and keeps everything else', () => {
    const full = context(0.8765);
    expect(full.champion!.summary.holdout!.overall).toBeCloseTo(0.8765, 12);
    const dev = devOnlyContext(full);
    expect(dev.history.map((r) => r.holdout)).toEqual([null, null]);
    expect(dev.champion!.row.holdout).toBeNull();
    expect(dev.champion!.summary.holdout).toBeNull();
    expect(dev.champion!.summary.cases.every((c) => c.split === 'dev')).toBe(true);
    expect(dev.champion!.summary.nCases).toBe(30);
    expect(dev.champion!.summary.overall).toBe(full.champion!.summary.overall);
    expect(dev.history.map((r) => ({ ...r, holdout: 0 }))).toEqual(full.history.map((r) => ({ ...r, holdout: 0 })));
    expect(devOnlyContext(dev)).toEqual(dev);
  });

  it("the Claude planner's message carries no holdout id or figure, and is the same whatever the holdout", () => {
    const message = contextMessage(context(0.8765));
    expect(message).not.toMatch(/secretholdout|holdout|0\.877|0\.8765/);
    expect(message).toContain('30 cases');
    expect(contextMessage(context(0.1234))).toBe(message);
  });

  it("the offline planner's study is the same whatever the holdout", () => {
    const thresholds = { jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 };
    expect(studyInput(context(0.1234), thresholds)).toEqual(studyInput(context(0.8765), thresholds));
  });
});
