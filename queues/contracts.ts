import { z } from 'zod';
import { evalSummarySchema } from '../src/eval/summary.js';
import { describeValueIssues, hyperParametersSchema, searchSpace, searchSpaceProblem, type HyperParameters } from '../src/research/hyperparameters.js';
import type { QueueName } from './names.js';

/**
 * The payload of every job, one zod schema per queue. Payloads are untrusted input (anything with access to
 * Redis can write one), so they are parsed when enqueued and again when consumed, and they never carry a path
 * or a command: datasets and adapters are named by sha256, models by mode (each worker reads its own config).
 */
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected a lowercase hex sha256' });

export const experimentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/, { error: 'expected 1-100 characters of [A-Za-z0-9_-]' })
  .refine((id) => !/^\d+$/.test(id), { error: 'must not be all digits (BullMQ reserves those ids)' });

const modeSchema = z.enum(['full', 'proxy']);

/** A search space by name: a file in python/search-spaces/ on the machine that parses the payload. */
export const searchSpaceNameSchema = z.string().superRefine((name, ctx) => {
  const problem = searchSpaceProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** The AGENT MODIFIABLE values, checked against search space `name` (names, types, ranges); the section writer checks again. */
export function sectionValuesSchema(name: string): z.ZodType<HyperParameters> {
  return hyperParametersSchema(undefined, searchSpace(name).table);
}

/**
 * A training job names the search space its values were planned in (the one of its mode's base model), so both
 * sides of the queue check the values against the same table; the worker also checks that the name is the one
 * its own config gives the mode.
 */
export const trainJobSchema = z
  .strictObject({
    experimentId: experimentIdSchema,
    mode: modeSchema,
    commit: z.string().regex(/^[0-9a-f]{7,64}$/, { error: 'expected a git commit hash' }),
    searchSpace: searchSpaceNameSchema,
    values: z.record(z.string(), z.unknown(), { error: 'expected the section values as an object' }),
    datasetSha256: sha256Schema,
  })
  .transform((job, ctx) => {
    const space = searchSpace(job.searchSpace);
    const parsed = hyperParametersSchema(undefined, space.table).safeParse(job.values);
    if (!parsed.success) {
      for (const issue of describeValueIssues(parsed.error.issues)) {
        ctx.addIssue({ code: 'custom', path: ['values'], message: `${issue} (search space ${space.name}, ${space.file})` });
      }
      return z.NEVER;
    }
    return { ...job, values: parsed.data };
  });
export type TrainJob = z.output<typeof trainJobSchema>;

export const evalJobSchema = z.strictObject({
  experimentId: experimentIdSchema,
  mode: modeSchema,
  /** Null evaluates the bare base model (a baseline with no champion yet). */
  adapterSha256: sha256Schema.nullable(),
});
export type EvalJob = z.infer<typeof evalJobSchema>;

export const routeJobSchema = z.strictObject({ experimentId: experimentIdSchema });
export type RouteJob = z.infer<typeof routeJobSchema>;

export const trainProgressSchema = z.strictObject({
  stage: z.literal('train'),
  iteration: z.number().int().nonnegative(),
  iters: z.number().int().positive(),
  trainLoss: z.number().nullable(),
  etaSeconds: z.number().nonnegative().nullable(),
});
export const evalProgressSchema = z.strictObject({
  stage: z.literal('eval'),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export const jobProgressSchema = z.discriminatedUnion('stage', [trainProgressSchema, evalProgressSchema]);
export type JobProgress = z.infer<typeof jobProgressSchema>;

export interface JobPayloads {
  'train-full': TrainJob;
  'train-proxy': TrainJob;
  eval: EvalJob;
  route: RouteJob;
}

export const payloadSchemas: { [Q in QueueName]: z.ZodType<JobPayloads[Q]> } = {
  'train-full': trainJobSchema,
  'train-proxy': trainJobSchema,
  eval: evalJobSchema,
  route: routeJobSchema,
};

export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
}

/** Parses a payload for `queue`, naming each offending field: the same check on both sides of the queue. */
export function parsePayload<Q extends QueueName>(queue: Q, data: unknown): JobPayloads[Q] {
  const result = payloadSchemas[queue].safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
  throw new InvalidPayloadError(`invalid ${queue} job payload: ${problems.join('; ')}`);
}

/** Results cross machines too; the executor parses them before believing them. */
export const evalResultSchema = z.strictObject({
  runId: z.string(),
  /** The run's folder on the machine that evaluated. */
  runDir: z.string(),
  machine: z.string(),
  summary: evalSummarySchema,
});
export type EvalResult = z.infer<typeof evalResultSchema>;
