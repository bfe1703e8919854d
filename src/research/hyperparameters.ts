import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../project.js';

/**
 * Search spaces: tables of the tunable hyperparameters (names, types, ranges, baselines), one JSON file per base
 * model family in python/search-spaces/, chosen per mode by `models.<mode>.searchSpace`. python/hparams.py reads
 * the same files, so a name, type or range means the same thing on both sides.
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

export const SEARCH_SPACES_DIR = join(PROJECT_ROOT, 'python', 'search-spaces');
/** The seed's table, sized for the Qwen 9B and 27B; what a config that names no search space gets. */
export const DEFAULT_SEARCH_SPACE = 'qwen';
const SPACE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** A named table, as loaded from python/search-spaces/<name>.json. */
export interface SearchSpace {
  name: string;
  file: string;
  table: HyperparameterTable;
}

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

export function parseTable(raw: unknown, source: string): HyperparameterTable {
  const parsed = tableSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${source}: not a valid hyperparameter table: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const names = parsed.data.parameters.map((p) => p.name).sort();
  const expected = [...NAMES].sort();
  if (names.join(',') !== expected.join(',') || parsed.data.hypothesis.name !== HYPOTHESIS) {
    throw new Error(`${source}: parameters must be exactly ${expected.join(', ')} plus ${HYPOTHESIS}; found ${names.join(', ')} plus ${parsed.data.hypothesis.name}`);
  }
  const issues: string[] = [];
  for (const p of parsed.data.parameters) {
    if (p.min > p.max) issues.push(`${p.name}: min ${p.min} is above max ${p.max}`);
    else if (p.baseline < p.min || p.baseline > p.max) issues.push(`${p.name}: baseline ${p.baseline} is outside ${p.min} to ${p.max}`);
    if (p.type === 'int' && ![p.min, p.max, p.baseline].every(Number.isInteger)) issues.push(`${p.name}: an int parameter needs whole min, max and baseline`);
  }
  if (issues.length > 0) throw new Error(`${source}: not a valid hyperparameter table: ${issues.join('; ')}`);
  return parsed.data;
}

/** The search spaces shipped in python/search-spaces/, by name (the file name without .json). */
export function searchSpaceNames(dir = SEARCH_SPACES_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && SPACE_NAME.test(f.slice(0, -5)))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Why `name` is not a usable search space, or null when it is one (config validation uses this). */
export function searchSpaceProblem(name: string, dir = SEARCH_SPACES_DIR): string | null {
  if (SPACE_NAME.test(name) && existsSync(join(dir, `${name}.json`))) return null;
  const names = searchSpaceNames(dir);
  return `unknown search space "${name}"; allowed: ${names.join(', ') || '(none found)'} (the files in ${dir})`;
}

const cache = new Map<string, SearchSpace>();

/** The search space `name`, loaded from python/search-spaces/<name>.json and checked on first use. */
export function searchSpace(name: string = DEFAULT_SEARCH_SPACE, dir = SEARCH_SPACES_DIR): SearchSpace {
  const file = join(dir, `${name}.json`);
  const hit = cache.get(file);
  if (hit) return hit;
  const problem = searchSpaceProblem(name, dir);
  if (problem) throw new Error(problem);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not readable JSON: ${(error as Error).message}`);
  }
  const space = { name, file, table: parseTable(raw, file) };
  cache.set(file, space);
  return space;
}

/** The table of the default search space; code that is not about a particular mode's model uses it. */
export function hyperparameterTable(): HyperparameterTable {
  return searchSpace().table;
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
export function hyperParametersSchema(agentIds?: readonly string[], table: HyperparameterTable = hyperparameterTable()): z.ZodType<HyperParameters> {
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

/** Validates values for the planner (src/planner/proposal.ts's ValuesValidator shape). */
export function validateValues(
  values: unknown,
  agentIds?: readonly string[],
  table: HyperparameterTable = hyperparameterTable(),
): { success: true; data: HyperParameters } | { success: false; issues: string[] } {
  const parsed = hyperParametersSchema(agentIds, table).safeParse(values);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, issues: describeValueIssues(parsed.error.issues) };
}

/** The baseline of every parameter, with a weight of the baseline for each agent. */
export function baselineValues(agentIds: readonly string[], table: HyperparameterTable = hyperparameterTable()): HyperParameters {
  const values: Record<string, unknown> = {};
  for (const spec of table.parameters) {
    values[spec.name] = spec.type === 'agent_weights' ? Object.fromEntries(agentIds.map((id) => [id, spec.baseline])) : spec.baseline;
  }
  values[HYPOTHESIS] = table.hypothesis.baseline;
  return values as unknown as HyperParameters;
}
