import type { SectionValues } from './executor.js';
import type { ChampionLine, ExperimentCommit } from './ledger.js';
import type { LoopDeps } from './loop-deps.js';
import { recordWithoutExecution } from './outcome.js';
import { readResults } from './results-file.js';
import type { ResultRow } from './results-format.js';
import { safeRead } from './commit-section.js';

/**
 * A commit at `line`'s tip that nobody ran or recorded becomes a `crash` row and is reverted; on the checked-out
 * branch a commit a planner of an earlier version left without its ref gets the ref first.
 */
export async function crashUndecided(deps: LoopDeps, line: ChampionLine): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  await deps.fence?.();
  const repaired = line === deps.ledger ? await deps.ledger.repairHeadRef() : null;
  if (repaired) {
    deps.log.warn(
      { experimentId: repaired.experimentId, commit: repaired.commit, ref: `refs/autoresearch/experiments/${repaired.experimentId}` },
      'HEAD is an experiment commit without its ref (a planner died between commit and update-ref): created the ref, so the commit stays reachable after the revert',
    );
  }
  const head = await undecidedHead(deps, line, new Set((await deps.executor.pending()).map((p) => p.experimentId)));
  if (head) rows.push(await crashCommitted(deps, head, line.name, 'committed but never decided (the planner stopped before submitting or lost the experiment); reverted on restart'));
  return rows;
}

/** A `crash` row for an experiment commit nobody will run or decide (a revert is a no-op unless a line ends at it). */
export async function crashCommitted(deps: LoopDeps, head: ExperimentCommit, branch: string, reason: string): Promise<ResultRow> {
  const values = safeRead(deps, await deps.ledger.trainPyAt(head.commit));
  const row = await recordWithoutExecution(deps, {
    experimentId: head.experimentId,
    result: 'crash',
    commit: head.commit,
    hypothesis: typeof values?.EXPERIMENT_HYPOTHESIS === 'string' ? values.EXPERIMENT_HYPOTHESIS : '',
    parameters: values,
    reasons: [reason],
  });
  deps.log.warn({ experimentId: head.experimentId, commit: head.commit, parent: head.parent, branch, results: deps.resultsPath }, `recorded a crash row for ${head.experimentId}: ${reason}`);
  return row;
}

/**
 * The line's tip when it is an experiment commit with no results.tsv row: undecided (in flight, or committed and
 * never decided). With `except`, an experiment still in flight does not count.
 */
export async function undecidedHead(deps: Pick<LoopDeps, 'resultsPath'>, line: ChampionLine, except: ReadonlySet<string> = new Set()): Promise<ExperimentCommit | null> {
  const head = await line.headExperiment();
  if (!head || except.has(head.experimentId) || readResults(deps.resultsPath).rows.some((r) => r.experimentId === head.experimentId)) return null;
  return head;
}
