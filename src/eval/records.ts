import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic.js';
import { CATEGORIES, evalSummarySchema, type EvalSummary } from './summary.js';

/** One case of one run, as written to records.jsonl: enough to rescore without generating again. */
export const caseRecordSchema = z.strictObject({
  id: z.string(),
  agent: z.string(),
  category: z.enum(CATEGORIES),
  description: z.string(),
  /** The body sent to /v1/chat/completions (system prompt, tools and sampling included). */
  request: z.record(z.string(), z.unknown()),
  /** The server's reply exactly as received. */
  response: z.unknown(),
  /** What the assertions saw, including tool calls recovered from text for diagnosis. */
  parsed: z.strictObject({
    content: z.string(),
    toolCalls: z.array(z.strictObject({ name: z.string(), arguments: z.string() })),
    finishReason: z.string().nullable(),
    unparsedToolCalls: z.array(z.strictObject({ name: z.string(), arguments: z.string() })),
    droppedToolCall: z.boolean(),
  }),
  assertions: z.array(
    z.strictObject({
      type: z.string(),
      required: z.boolean(),
      weight: z.number(),
      value: z.unknown().optional(),
      pass: z.boolean(),
      score: z.number().min(0).max(1),
      reason: z.string(),
    }),
  ),
  score: z.number().min(0).max(1),
  pass: z.boolean(),
  seconds: z.number().nonnegative(),
});
export type CaseRecord = z.infer<typeof caseRecordSchema>;

/** How a run was made; with records.jsonl it is all `rescore` needs. */
export const runInfoSchema = z.strictObject({
  runId: z.string(),
  createdAt: z.string(),
  model: z.string(),
  /** The folder or hub id actually served (differs from `model` for "tiny"). */
  resolvedModel: z.string(),
  adapterPath: z.string().nullable(),
  adapterSha256: z.string().nullable(),
  suiteSha256: z.string(),
  councilDir: z.string(),
  /** "mlx_lm.server" when this run started one, else the configured endpoint's URL. */
  server: z.string(),
  serverFingerprint: z.string().nullable(),
  sampling: z.strictObject({ temperature: z.number(), seed: z.number(), maxTokens: z.number() }),
  concurrency: z.number().int().positive(),
  serverStartSeconds: z.number().nonnegative(),
  generationSeconds: z.number().nonnegative(),
  rescoredFrom: z.string().nullable(),
});
export type RunInfo = z.infer<typeof runInfoSchema>;

export function writeRun(dir: string, info: RunInfo, records: readonly CaseRecord[], summary: EvalSummary): void {
  writeFileAtomic(join(dir, 'records.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  // Last: a summary.json present means the run is complete.
  writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

export function readRecords(dir: string): CaseRecord[] {
  const file = join(dir, 'records.jsonl');
  const lines = readText(file).split('\n');
  return lines.flatMap((line, i) => {
    if (line.trim().length === 0) return [];
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${i + 1} is not valid JSON`);
    }
    const parsed = caseRecordSchema.safeParse(value);
    if (!parsed.success) throw new Error(`${file}:${i + 1} is not a case record: ${parsed.error.issues[0]?.message}`);
    return [parsed.data];
  });
}

export function readRunInfo(dir: string): RunInfo {
  return parseJsonFile(join(dir, 'run.json'), runInfoSchema);
}

export function readSummary(dir: string): EvalSummary {
  return parseJsonFile(join(dir, 'summary.json'), evalSummarySchema);
}

function parseJsonFile<T>(file: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(readText(file));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new Error(`${file} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file} does not exist: is this an eval run folder (with records.jsonl, run.json, summary.json)?`);
  }
}
