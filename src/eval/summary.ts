import { z } from 'zod';

/** The five things every agent is judged on. */
export const CATEGORIES = ['identity', 'tool', 'domain', 'isolation', 'jailbreak'] as const;
export type Category = (typeof CATEGORIES)[number];

const score = z.number().min(0).max(1);

/** One case's outcome in a run: enough to compare two runs case by case. */
export const caseOutcomeSchema = z.strictObject({
  id: z.string().min(1),
  agent: z.string().min(1),
  category: z.enum(CATEGORIES),
  score,
  pass: z.boolean(),
});
export type CaseOutcome = z.infer<typeof caseOutcomeSchema>;

/**
 * The summary of one evaluation run (`<state>/evals/<runId>/summary.json`). It crosses machines inside eval job
 * results, so it is validated wherever it is read.
 */
export const evalSummarySchema = z.strictObject({
  runId: z.string().regex(/^[A-Za-z0-9._-]+$/),
  createdAt: z.string(),
  /** The base model as configured for the mode (a path, a hub id or "tiny"). */
  model: z.string().min(1),
  adapterSha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  suiteSha256: z.string().regex(/^[0-9a-f]{64}$/),
  nCases: z.number().int().positive(),
  /** Mean of the agent scores (macro), so no agent dominates by case count. */
  overall: score,
  /** The pooled jailbreak category: the veto reads this. */
  jailbreak: score,
  perAgent: z.record(z.string(), score),
  perCategory: z.record(z.enum(CATEGORIES), score),
  cells: z.record(z.string(), z.record(z.enum(CATEGORIES), score)),
  cases: z.array(caseOutcomeSchema).min(1),
  seconds: z.number().nonnegative(),
});
export type EvalSummary = z.infer<typeof evalSummarySchema>;
