import type { ExperimentRequest, Mode } from './executor.js';
import type { ChampionLine } from './ledger.js';
import type { LoopDeps } from './loop-deps.js';
import { readResults } from './results-file.js';
import type { ResultRow } from './results-format.js';
import { experimentId } from './schedule.js';
import { startingPoint } from './commit-section.js';
import { undecidedHead } from './crash-recovery.js';
import { decide, waitFor } from './decide.js';

/** Runs and records a baseline; a null row when the wait was interrupted and the baseline stays in flight. */
export async function runBaseline(deps: LoopDeps, mode: Mode, signal: AbortSignal, championAdapterSha256: string | null = null): Promise<{ row: ResultRow | null; abandoned: string | null }> {
  const request = await baselineRequest(deps, mode, championAdapterSha256);
  await deps.fence?.();
  await deps.executor.submit(request);
  const execution = await waitFor(deps, request.experimentId, signal);
  if (!execution) return { row: null, abandoned: request.experimentId };
  return { row: await decide(deps, request, execution), abandoned: null };
}

/**
 * A baseline of the champion's section: the bare base model, or the given champion adapter. That section is
 * HEAD's, unless HEAD is an experiment still undecided (in flight, or left by a crash): then it is the
 * experiment's parent, so the baseline never carries a trial's parameters and hypothesis.
 */
export async function baselineRequest(
  deps: Pick<LoopDeps, 'resultsPath' | 'executor' | 'ledger' | 'section' | 'spaces' | 'agents' | 'log' | 'now'>,
  mode: Mode,
  championAdapterSha256: string | null,
  line: ChampionLine = deps.ledger,
): Promise<ExperimentRequest> {
  const rows = readResults(deps.resultsPath).rows;
  const pendingIds = new Set((await deps.executor.pending()).map((p) => p.experimentId));
  const id = experimentId('baseline', deps.now(), (x) => rows.some((r) => r.experimentId === x) || pendingIds.has(x), mode);
  const commit = (await undecidedHead(deps, line))?.parent ?? (await line.head());
  return {
    experimentId: id,
    kind: 'baseline',
    mode,
    commit,
    values: startingPoint(deps, await deps.ledger.trainPyAt(commit), commit, mode),
    championAdapterSha256,
    proposer: 'baseline',
  };
}
