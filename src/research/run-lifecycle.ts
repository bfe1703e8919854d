import type { RequestedMode } from './executor.js';
import { LEASE_LOST_EXIT_CODE, PlannerLease } from './lease.js';
import type { LoopDeps } from './loop-deps.js';
import { checkResultsColumns } from './results-file.js';
import type { ResultRow } from './results-format.js';

export interface RunOptions {
  maxExperiments: number;
  deadline: Date;
  mode: RequestedMode;
  signal: AbortSignal;
}

export interface RunSummary {
  rows: ResultRow[];
  stoppedBecause: string;
  /** An experiment left running when the run was interrupted; the next run resumes waiting for it. */
  abandoned: string | null;
  /** The run stopped because this planner lost its lease (`run` exits with LEASE_LOST_EXIT_CODE). */
  leaseLost: boolean;
}

/**
 * The exit code of `run` and `experiment` (docs/operations.md lists them all): 0 when the run ended on its
 * own terms, LEASE_LOST_EXIT_CODE (75) when the planner lease was lost, 130 when a signal interrupted it.
 */
export function runExitCode(summary: Pick<RunSummary, 'abandoned' | 'leaseLost'>): number {
  if (summary.leaseLost) return LEASE_LOST_EXIT_CODE;
  return summary.abandoned ? 130 : 0;
}

/** Why a signal fired, for the summary and the log: "interrupted by SIGINT", "the planner lease ... was lost". */
export function abortReason(signal: AbortSignal): string {
  return String((signal.reason as Error | undefined)?.message ?? signal.reason);
}

/**
 * The lease, the fence every write checks, and the up-front checks both `run` and `experiment` make before
 * anything is planned or committed: results.tsv has this council's columns, and no tracked file (train.py
 * included) has uncommitted changes, which a commit would fold in or a revert would wipe.
 */
export async function begin(deps: LoopDeps, signal: AbortSignal): Promise<{ deps: LoopDeps; lease: PlannerLease; signal: AbortSignal }> {
  checkResultsColumns(deps.resultsPath, deps.agents);
  const lease = await PlannerLease.acquire(deps.redis, `${deps.redisPrefix}:planner:lease`, deps.leaseTtlMs, deps.log);
  try {
    await deps.ledger.ensureClean();
  } catch (error) {
    await lease.release().catch(() => undefined);
    throw error;
  }
  return { deps: { ...deps, fence: () => lease.assertHeld() }, lease, signal: AbortSignal.any([signal, lease.lost]) };
}
