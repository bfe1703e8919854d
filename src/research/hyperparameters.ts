import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../project.js';

/**
 * The one table of tunable hyperparameters, python/hyperparameters.json, read once. python/hparams.py reads the
 * same file, so a name, type or range means the same thing on both sides.
 */
const paramSchema = z.strictObject({
  name: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  type: z.enum(['int', 'float', 'agent_weights']),
  min: z.number(),
  max: z.number(),
  baseline: z.number(),
  description: z.string(),
});
const tableSchema = z.strictObject({
  $comment: z.string().optional(),
  parameters: z.array(paramSchema).min(1),
  hypothesis: z.strictObject({
    name: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
    type: z.literal('string'),
    maxLength: z.int().positive(),
    baseline: z.string(),
  }),
});
export type HyperparameterTable = z.infer<typeof tableSchema>;
export type ParamSpec = HyperparameterTable['parameters'][number];

export const TABLE_FILE = join(PROJECT_ROOT, 'python', 'hyperparameters.json');

/** The names the code relies on; the table must hold exactly these (checked when the table is loaded). */
const NAMES = [
  'NUM_LAYERS',
  'LORA_RANK',
  'LORA_ALPHA',
  'DROPOUT',
  'LEARNING_RATE',
  'ITERS',
  'GRAD_ACCUM',
  'DATA_MIX_RATIO',
  'PER_AGENT_WEIGHTS',
] as const;
export const HYPOTHESIS = 'EXPERIMENT_HYPOTHESIS';

/** A full set of section values: every parameter plus the hypothesis. */
export interface HyperParameters {
  NUM_LAYERS: number;
  LORA_RANK: number;
  LORA_ALPHA: number;
  DROPOUT: number;
  LEARNING_RATE: number;
  ITERS: number;
  GRAD_ACCUM: number;
  DATA_MIX_RATIO: number;
  PER_AGENT_WEIGHTS: Record<string, number>;
  EXPERIMENT_HYPOTHESIS: string;
}

const AGENT_ID = /^[a-z][a-z0-9_]*$/;

export function parseTable(raw: unknown, source = TABLE_FILE): HyperparameterTable {
  const parsed = tableSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${source}: not a valid hyperparameter table: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const names = parsed.data.parameters.map((p) => p.name).sort();
  const expected = [...NAMES].sort();
  if (names.join(',') !== expected.join(',') || parsed.data.hypothesis.name !== HYPOTHESIS) {
    throw new Error(`${source}: parameters must be exactly ${expected.join(', ')} plus ${HYPOTHESIS}; found ${names.join(', ')} plus ${parsed.data.hypothesis.name}`);
  }
  return parsed.data;
}

let cached: HyperparameterTable | undefined;

/** The table from python/hyperparameters.json, loaded and checked on first use. */
export function hyperparameterTable(): HyperparameterTable {
  cached ??= parseTable(JSON.parse(readFileSync(TABLE_FILE, 'utf8')) as unknown);
  return cached;
}

/** Python's len(): code points, so an emoji counts once on both sides. */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function paramField(spec: ParamSpec, agentIds: readonly string[] | undefined): z.ZodType {
  const range = `expected ${spec.type === 'int' ? 'a whole number' : 'a number'} from ${spec.min} to ${spec.max}`;
  const number = (base: z.ZodNumber) => base.min(spec.min, { error: range }).max(spec.max, { error: range });
  if (spec.type === 'int') return number(z.int({ error: range }));
  if (spec.type === 'float') return number(z.number({ error: range }));
  const weight = number(z.number({ error: `${range} per agent` }));
  if (agentIds) {
    return z.strictObject(Object.fromEntries(agentIds.map((id) => [id, weight])), {
      error: `expected one weight per council agent: ${agentIds.join(', ')}`,
    });
  }
  return z
    .record(z.string().regex(AGENT_ID, { error: 'agent ids are lowercase [a-z][a-z0-9_]*' }), weight)
    .refine((r) => Object.keys(r).length > 0, { error: 'expected at least one agent weight' });
}

/**
 * A zod schema for a full set of values. With the council's agent ids, PER_AGENT_WEIGHTS must name exactly those
 * agents; without them, any agent-id-shaped keys are accepted.
 */
export function hyperParametersSchema(agentIds?: readonly string[]): z.ZodType<HyperParameters> {
  const table = hyperparameterTable();
  const maxLength = table.hypothesis.maxLength;
  const shape: Record<string, z.ZodType> = {};
  for (const spec of table.parameters) shape[spec.name] = paramField(spec, agentIds);
  shape[HYPOTHESIS] = z
    .string({ error: 'expected a string' })
    .refine((s) => codePointLength(s) <= maxLength, { error: `at most ${maxLength} characters` });
  return z.strictObject(shape) as unknown as z.ZodType<HyperParameters>;
}

/** Each zod issue as `NAME: what is wrong`, naming the parameter first. */
export function describeValueIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') return `${path ? `${path}: ` : ''}unknown ${issue.keys.join(', ')}`;
    return `${path || '(values)'}: ${issue.message}`;
  });
}

/**
 * A line shaped like a git trailer (`Signed-off-by: x`, `Autoresearch-Experiment: id`): a hyphenated token, a
 * colon, a value. The ledger's own trailer closes every experiment commit message, so a hypothesis may not
 * carry one; a plain `Expected: ...` line (no hyphen) is prose and stays allowed.
 */
export const TRAILER_LINE = /^[ \t]*[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+[ \t]*:/m;

/**
 * The first reason `text` cannot travel through git, results.tsv, YAML and Python unchanged, or null when it can:
 * well-formed UTF-16 (no lone surrogate, which Python cannot encode), and no control character other than
 * a line break (LF or CR LF) and tab (a NUL cannot go into a git argument; the rest would be invisible).
 */
export function textProblem(text: string): string | null {
  // With the u flag a surrogate pair is one code point, so \p{Cs} matches only a lone half.
  if (/\p{Cs}/u.test(text)) return 'contains a lone surrogate (ill-formed Unicode); send well-formed text';
  const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u.exec(text.replace(/\r\n/g, '\n'));
  if (control) return `contains the control character U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}; only newlines and tabs are allowed`;
  return null;
}

/** A hypothesis as the loop accepts it from a planner or a work tree: clean text, no trailer-shaped line. */
export const hypothesisTextSchema = z.string({ error: 'expected a string' }).superRefine((s, ctx) => {
  const problem = textProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
  const trailer = TRAILER_LINE.exec(s);
  if (trailer) {
    ctx.addIssue({ code: 'custom', message: `the line "${trailer[0].trim()} ..." looks like a git trailer; rephrase it (for example without the hyphen or the colon)` });
  }
});

/**
 * Validates values for the planner (src/planner/proposal.ts's ValuesValidator shape): the ranges, and a
 * hypothesis that is clean text (hypothesisTextSchema).
 */
export function validateValues(
  values: unknown,
  agentIds?: readonly string[],
): { success: true; data: HyperParameters } | { success: false; issues: string[] } {
  const parsed = hyperParametersSchema(agentIds).safeParse(values);
  const issues = parsed.success ? [] : describeValueIssues(parsed.error.issues);
  const hypothesis = (values as Record<string, unknown> | null)?.[HYPOTHESIS];
  if (typeof hypothesis === 'string') {
    const text = hypothesisTextSchema.safeParse(hypothesis);
    if (!text.success) issues.push(...text.error.issues.map((i) => `${HYPOTHESIS}: ${i.message}`));
  }
  return parsed.success && issues.length === 0 ? { success: true, data: parsed.data } : { success: false, issues };
}

/** The baseline of every parameter, with a weight of the baseline for each agent. */
export function baselineValues(agentIds: readonly string[]): HyperParameters {
  const table = hyperparameterTable();
  const values: Record<string, unknown> = {};
  for (const spec of table.parameters) {
    values[spec.name] = spec.type === 'agent_weights' ? Object.fromEntries(agentIds.map((id) => [id, spec.baseline])) : spec.baseline;
  }
  values[HYPOTHESIS] = table.hypothesis.baseline;
  return values as unknown as HyperParameters;
}
