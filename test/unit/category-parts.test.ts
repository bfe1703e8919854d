import { describe, expect, it } from 'vitest';
import { categoryLeads, categoryParts, movedCategories } from '../../src/eval/category-parts.js';
import { summarize } from '../../src/eval/scoring.js';
import { CATEGORIES, type CaseOutcome, type CaseOutcomeInput, type EvalSummary } from '../../src/eval/summary.js';

/** Two agents with unequal case counts, so a category's weight differs by agent. */
function run(scores: Record<string, Partial<Record<CaseOutcome['category'], number[]>>>, holdout: CaseOutcomeInput[] = []): EvalSummary {
  const cases = Object.entries(scores).flatMap(([agent, cats]) =>
    CATEGORIES.flatMap((category) =>
      (cats[category] ?? [0]).map((score, i) => ({ id: `${agent}.${category}.${i}`, agent, category, score, pass: score === 1 })),
    ),
  );
  return summarize({
    runId: 'r',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: 'tiny',
    adapterSha256: null,
    suiteSha256: 'b'.repeat(64),
    seconds: 1,
    agents: Object.keys(scores),
    cases: [...cases, ...holdout],
  });
}

describe('categoryParts', () => {
  const summary = run({ a: { identity: [1, 1, 0], jailbreak: [1] }, b: { tool: [1, 0], jailbreak: [0.5] } });
  const parts = categoryParts(summary);

  it('weighs a category by its share of each agent\'s dev cases, not by a fifth', () => {
    // a has 7 dev cases (3 identity), b has 6 (1 identity).
    expect(parts.identity.weight).toBeCloseTo((3 / 7 + 1 / 6) / 2, 12);
    expect(parts.identity.part).toBeCloseTo((2 / 7 + 0) / 2, 12);
    expect(parts.tool.part).toBeCloseTo((0 + 1 / 6) / 2, 12);
  });

  it('has parts that add up to overall and weights that add up to one', () => {
    const total = CATEGORIES.reduce((s, c) => s + parts[c].part, 0);
    expect(total).toBeCloseTo(summary.overall, 12);
    expect(CATEGORIES.reduce((s, c) => s + parts[c].weight, 0)).toBeCloseTo(1, 12);
  });

  it('leaves holdout cases out, as overall does', () => {
    const withHoldout = run({ a: { identity: [1, 1, 0], jailbreak: [1] }, b: { tool: [1, 0], jailbreak: [0.5] } }, [
      { id: 'a.identity.h', agent: 'a', category: 'identity', score: 0, pass: false, split: 'holdout' },
    ]);
    expect(categoryParts(withHoldout)).toEqual(parts);
  });
});

describe('categoryLeads', () => {
  const baselines = [run({ a: { identity: [0, 0] } }), run({ a: { identity: [1, 0] } })];
  const candidates = [run({ a: { identity: [1, 1], jailbreak: [1] } })];

  it('splits the lead of the seed means by category, adding up to the lead in overall', () => {
    const leads = categoryLeads(candidates, baselines);
    // a has 6 dev cases: identity 2, the others 1 each.
    expect(leads.identity.lead).toBeCloseTo(2 / 6 - 0.5 / 6, 12);
    expect(leads.jailbreak.lead).toBeCloseTo(1 / 6, 12);
    expect(leads.tool.lead).toBe(0);
    const overallLead = candidates[0]!.overall - (baselines[0]!.overall + baselines[1]!.overall) / 2;
    expect(CATEGORIES.reduce((s, c) => s + leads[c].lead, 0)).toBeCloseTo(overallLead, 12);
  });

  it('says how much room each category leaves above the baseline', () => {
    const leads = categoryLeads(candidates, baselines);
    expect(leads.identity.room).toBeCloseTo(2 / 6 - 0.5 / 6, 12);
    expect(leads.domain.room).toBeCloseTo(1 / 6, 12);
  });

  it('refuses an empty side', () => {
    expect(() => categoryLeads([], baselines)).toThrow(/at least one candidate and one baseline/);
  });
});

describe('movedCategories', () => {
  const lead = (l: number, room: number) => ({ lead: l, room });
  it.each<[string, Parameters<typeof movedCategories>[0], string[], number]>([
    [
      'the tiny landscape: identity and jailbreak moved, isolation at chance, tool and domain not at all',
      { identity: lead(0.09, 0.12), tool: lead(0, 0.222), domain: lead(0, 0.222), isolation: lead(0.007, 0.137), jailbreak: lead(0.009, 0.018) },
      ['identity', 'jailbreak'],
      0.138,
    ],
    ['nothing moved', { identity: lead(0, 0.1), tool: lead(-0.01, 0.2), domain: lead(0, 0.2), isolation: lead(0, 0.2), jailbreak: lead(0, 0) }, [], 0],
    ['a category with no room left never counts', { identity: lead(0, 0), tool: lead(0.2, 0.2), domain: lead(0, 0.2), isolation: lead(0, 0.2), jailbreak: lead(0, 0) }, ['tool'], 0.2],
  ])('%s', (_name, leads, moved, cap) => {
    const got = movedCategories(leads);
    expect(got.moved).toEqual(moved);
    expect(got.cap).toBeCloseTo(cap, 12);
  });
});
