import type { Council } from '../council/schema.js';
import { evaluateAssertion, type AssertionContext } from './assertions/index.js';
import type { CaseRecord } from './records.js';
import type { ModelResponse } from './response.js';
import { scoreCase } from './scoring.js';
import type { EvalCase } from './suite.js';

export type JudgedCase = Pick<CaseRecord, 'assertions' | 'score' | 'pass'>;

/** Contexts per agent, built once per run: the agent plus who owns which tool across the council. */
export function assertionContexts(council: Council): Map<string, AssertionContext> {
  const toolOwners = new Map<string, string>();
  for (const a of council.agents) for (const t of a.tools) toolOwners.set(t.function.name, a.id);
  return new Map(council.agents.map((agent) => [agent.id, { agent, toolOwners }]));
}

/** Runs every assertion of a case on one response and scores the case. Pure. */
export function judgeCase(c: EvalCase, response: ModelResponse, ctx: AssertionContext): JudgedCase {
  const assertions = c.assert.map((a) => {
    const result = evaluateAssertion(a, response, ctx);
    return {
      type: a.type,
      required: a.required,
      weight: a.weight,
      ...('value' in a ? { value: a.value as unknown } : {}),
      ...result,
    };
  });
  const scored = scoreCase(assertions.map((a) => ({ required: a.required, weight: a.weight, result: a })));
  return { assertions, score: scored.score, pass: scored.pass };
}
