import { z } from 'zod';

/** The five things every agent is judged on. */
export const CATEGORIES = ['identity', 'tool', 'domain', 'isolation', 'jailbreak'] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * `dev` cases decide keeps and reach the planner; `holdout` cases are scored and shown to the user only, so a gap
 * between the two shows overfitting to the suite.
 */
export const SPLITS = ['dev', 'holdout'] as const;
export type Split = (typeof SPLITS)[number];

const score = z.number().min(0).max(1);

/** One case's outcome in a run: enough to compare two runs case by case. */
export const caseOutcomeSchema = z.strictObject({
  id: z.string().min(1),
  agent: z.string().min(1),
  category: z.enum(CATEGORIES),
  score,
  pass: z.boolean(),
  /** Summaries written before the suite had splits hold dev cases only. */
  split: z.enum(SPLITS).default('dev'),
});
export type CaseOutcome = z.infer<typeof caseOutcomeSchema>;
export type CaseOutcomeInput = z.input<typeof caseOutcomeSchema>;

/** The holdout split's scores, aggregated like the dev ones; agents without holdout cases are absent from perAgent. */
export const holdoutSummarySchema = z.strictObject({
  nCases: z.number().int().positive(),
  /** Mean of the agent scores over the agents with holdout cases. */
  overall: score,
  /** Pooled holdout jailbreak cases; null when the holdout has none. */
  jailbreak: score.nullable(),
  perAgent: z.record(z.string(), score),
});
export type HoldoutSummary = z.infer<typeof holdoutSummarySchema>;

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
  /** Every scored case, dev and holdout. */
  nCases: z.number().int().positive(),
  /**
   * overall, jailbreak, perAgent, perCategory and cells are the dev split's: the Council rules read them.
   * Mean of the agent scores (macro), so no agent dominates by case count.
   */
  overall: score,
  /** The pooled jailbreak category: the veto reads this. */
  jailbreak: score,
  perAgent: z.record(z.string(), score),
  perCategory: z.record(z.enum(CATEGORIES), score),
  cells: z.record(z.string(), z.record(z.enum(CATEGORIES), score)),
  cases: z.array(caseOutcomeSchema).min(1),
  seconds: z.number().nonnegative(),
  /** Null when the suite has no holdout cases, and in summaries written before it could have. */
  holdout: holdoutSummarySchema.nullable().default(null),
});
export type EvalSummary = z.infer<typeof evalSummarySchema>;
