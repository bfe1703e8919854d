import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalSummarySchema, type EvalSummary } from './summary.js';

/** A summary is a few hundred KB for thousands of cases; anything far larger is not one. */
export const MAX_SUMMARY_BYTES = 16 * 2 ** 20;

const RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export class EvalRunNotFoundError extends Error {
  override readonly name = 'EvalRunNotFoundError';
}

/**
 * An eval run written on this machine, found by id under `<state>/evals/` (the id is checked, the path is built
 * here). The folder must be a real folder and summary.json a regular file no larger than MAX_SUMMARY_BYTES,
 * opened without following links; the summary must name the same run.
 */
export function readLocalEvalRun(stateDir: string, runId: string): { dir: string; summary: EvalSummary } {
  if (!RUN_ID.test(runId)) throw new Error(`eval run id ${JSON.stringify(runId)} is not a run id`);
  const evals = join(stateDir, 'evals');
  const dir = join(evals, runId);
  const info = lstatSync(dir, { throwIfNoEntry: false });
  if (!info) {
    throw new EvalRunNotFoundError(
      `eval run ${runId} is not in ${evals}: the planner reads eval results from its own machine, so the eval queue must be consumed on the planner's machine with the same paths.state (fleet.roles)`,
    );
  }
  if (!info.isDirectory()) throw new Error(`${dir} is not a real folder (a link?); refusing to read it`);
  const file = join(dir, 'summary.json');
  let text: string;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new Error(`${file} cannot be opened as a regular file: ${(error as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${file} is not a regular file`);
    if (stat.size > MAX_SUMMARY_BYTES) throw new Error(`${file} is ${stat.size} bytes, over the ${MAX_SUMMARY_BYTES} a summary may have`);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = evalSummarySchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} is malformed: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  if (parsed.data.runId !== runId) throw new Error(`${file} describes run ${parsed.data.runId}, not ${runId}`);
  return { dir, summary: parsed.data };
}
