import { describe, expect, it } from 'vitest';
import { agentPairedDeltas, formatPaired, macroPairedDelta, pairedComparison, signTestPValue } from '../../src/eval/paired.js';
import { CATEGORIES, evalSummarySchema, type Category, type EvalSummary } from '../../src/eval/summary.js';

describe('signTestPValue (exact two-sided)', () => {
  it.each([
    [5, 0, 0.0625],
    [0, 5, 0.0625],
    [4, 0, 0.125],
    [6, 0, 0.03125],
    [6, 1, 0.125],
    [7, 1, 0.0703125],
    [1, 1, 1],
    [3, 2, 1],
    [0, 0, 1],
    [10, 0, 2 / 1024],
    [8, 2, 0.109375],
  ])('%i wins, %i losses -> %f', (w, l, p) => {
    expect(signTestPValue(w, l)).toBeCloseTo(p, 12);
  });
  it('stays finite for large counts', () => {
    const p = signTestPValue(600, 400);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-9);
  });
});

function summary(runId: string, scores: Record<string, number>): EvalSummary {
  const cases = Object.entries(scores).map(([id, score]) => {
    const [agent, category] = id.split('.') as [string, Category];
    return { id, agent, category, score, pass: score === 1 };
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  const agents = [...new Set(cases.map((c) => c.agent))];
  const perAgent = Object.fromEntries(agents.map((a) => [a, mean(cases.filter((c) => c.agent === a).map((c) => c.score))]));
  const perCategory = Object.fromEntries(
    CATEGORIES.map((k) => [k, mean(cases.filter((c) => c.category === k).map((c) => c.score))]),
  ) as Record<Category, number>;
  return evalSummarySchema.parse({
    runId,
    createdAt: '2026-01-01T00:00:00.000Z',
    model: 'tiny',
    adapterSha256: null,
    suiteSha256: 'a'.repeat(64),
    nCases: cases.length,
    overall: mean(Object.values(perAgent)),
    jailbreak: perCategory.jailbreak,
    perAgent,
    perCategory,
    cells: {},
    cases,
    seconds: 1,
  });
}

describe('pairedComparison', () => {
  const baseline = summary('base', {
    'yoda.identity.01': 0,
    'yoda.tool.01': 0,
    'yoda.jailbreak.01': 1,
    'windu.identity.01': 0.5,
    'windu.domain.01': 1,
    'windu.isolation.09': 1,
  });
  const candidate = summary('cand', {
    'yoda.identity.01': 1,
    'yoda.tool.01': 1,
    'yoda.jailbreak.01': 1,
    'windu.identity.01': 0.25,
    'windu.domain.01': 1,
    'windu.isolation.08': 0,
  });

  it('counts wins, losses and ties over matched cases only', () => {
    const p = pairedComparison(candidate, baseline);
    expect(p.matched).toBe(5);
    expect(p.unmatched).toEqual({ candidateOnly: ['windu.isolation.08'], baselineOnly: ['windu.isolation.09'] });
    expect([p.wins, p.losses, p.ties]).toEqual([2, 1, 2]);
    expect(p.pValue).toBe(1);
    expect(p.perCase.find((c) => c.id === 'windu.identity.01')).toMatchObject({ a: 0.25, b: 0.5 });
    expect(p.meanDelta).toBeCloseTo((1 + 1 - 0.25) / 5, 12);
    expect(p.deltaPerCategory.jailbreak).toBe(0);
    expect(p.deltaJailbreak).toBe(0);
    expect(Object.keys(p.deltaPerAgent).sort()).toEqual(['windu', 'yoda']);
    expect(p.sameSuite).toBe(true);
  });

  it('treats a difference below the epsilon as a tie', () => {
    const a = summary('a', { 'yoda.identity.01': 0.1 * 7 });
    const b = summary('b', { 'yoda.identity.01': 0.7 });
    expect(pairedComparison(a, b)).toMatchObject({ wins: 0, losses: 0, ties: 1, pValue: 1 });
  });

  it('gives the known p-value for five clean wins', () => {
    const ids = ['yoda.tool.01', 'yoda.tool.02', 'yoda.tool.03', 'yoda.tool.04', 'yoda.tool.05', 'yoda.domain.01'];
    const b = summary('b', Object.fromEntries(ids.map((id) => [id, id.includes('domain') ? 1 : 0])));
    const a = summary('a', Object.fromEntries(ids.map((id) => [id, 1])));
    const p = pairedComparison(a, b);
    expect([p.wins, p.losses, p.ties]).toEqual([5, 0, 1]);
    expect(p.pValue).toBeCloseTo(0.0625, 12);
  });

  it('formats a readable report with the flipped cases', () => {
    const text = formatPaired(pairedComparison(candidate, baseline));
    expect(text).toContain('wins 2  losses 1  ties 2  sign-test p 1.0000');
    expect(text).toContain('1 only in candidate, 1 only in baseline');
    expect(text).toMatch(/yoda\.identity\.01\s+1\.000\s+0\.000\s+\+1\.000/);
    expect(text).not.toMatch(/yoda\.jailbreak\.01/);
  });
});

describe('macroPairedDelta (the noise guard\'s figures)', () => {
  const d = (agent: string, diffs: number[]) => diffs.map((x) => ({ agent, a: 0.5 + x / 2, b: 0.5 - x / 2 }));

  it('weights each case by 1/(agents · cases of its agent), so it equals the macro overall\'s difference', () => {
    // Agent x: 2 cases (+1, 0), agent y: 4 cases (+1, +1, 0, 0): overall moves by (1/2 + 1/2) / 2 = 0.5.
    const r = macroPairedDelta([...d('x', [1, 0]), ...d('y', [1, 1, 0, 0])]);
    expect(r.delta).toBeCloseTo(0.5, 12);
    // s²_x = 0.5, s²_y = 1/3: SE² = (0.5 / 2 + (1/3) / 4) / 4.
    expect(r.stdErr).toBeCloseTo(Math.sqrt((0.5 / 2 + 1 / 12) / 4), 12);
  });

  it('is zero with no differing case, and with no cases', () => {
    expect(macroPairedDelta(d('x', [0, 0, 0]))).toEqual({ delta: 0, stdErr: 0 });
    expect(macroPairedDelta([])).toEqual({ delta: 0, stdErr: 0 });
  });

  it('an agent with one case contributes its squared difference, not zero', () => {
    const r = macroPairedDelta([...d('x', [1]), ...d('y', [0, 0])]);
    expect(r.delta).toBeCloseTo(0.5, 12);
    expect(r.stdErr).toBeCloseTo(Math.sqrt(1 / 4), 12);
  });
});

describe('agentPairedDeltas (the regression cap\'s figures under the noise guard)', () => {
  const d = (agent: string, diffs: number[]) => diffs.map((x) => ({ agent, a: 0.5 + x / 2, b: 0.5 - x / 2 }));

  it('gives each agent its mean difference and the standard error of that mean', () => {
    const r = agentPairedDeltas([...d('x', [-1, -1, 0, 0]), ...d('y', [1, 0])]);
    expect(r.x!.n).toBe(4);
    expect(r.x!.delta).toBeCloseTo(-0.5, 12);
    // s² = (2 · 0.25 + 2 · 0.25) / 3 = 1/3, SE = sqrt(1/3 / 4).
    expect(r.x!.stdErr).toBeCloseTo(Math.sqrt(1 / 12), 12);
    expect(r.y!.delta).toBeCloseTo(0.5, 12);
    expect(r.y!.stdErr).toBeCloseTo(Math.sqrt(0.5 / 2), 12);
  });

  it('has no standard error for a single case, and zero when every case moved alike', () => {
    const r = agentPairedDeltas([...d('x', [-0.5]), ...d('y', [-0.2, -0.2, -0.2])]);
    expect(r.x).toEqual({ delta: -0.5, n: 1, stdErr: null });
    expect(r.y!.stdErr).toBeCloseTo(0, 12);
    expect(agentPairedDeltas([])).toEqual({});
  });
});
