import type { ExperimentExecution, ExperimentRequest, Mode, SectionValues } from './executor.js';
import type { LoopDeps } from './loop-deps.js';
import { judge, loadChampion, record, recordWithoutExecution } from './outcome.js';
import type { ResultRow } from './results-format.js';
import { abortReason } from './run-lifecycle.js';

/** `line`: the mode whose champion line the experiment was committed on (several in flight); a keep moves that line to it. */
export async function decide(deps: LoopDeps, request: ExperimentRequest, execution: ExperimentExecution, changes: SectionValues | null = null, line?: Mode): Promise<ResultRow> {
  const champion = request.kind === 'experiment' ? loadChampion(deps, execution.mode, execution.model) : null;
  const hypothesis = typeof request.values.EXPERIMENT_HYPOTHESIS === 'string' ? request.values.EXPERIMENT_HYPOTHESIS : '';
  if (request.kind === 'experiment' && !champion && execution.eval) {
    return recordWithoutExecution(deps, {
      experimentId: request.experimentId,
      result: 'crash',
      commit: request.commit,
      hypothesis,
      parameters: request.values,
      reasons: [`no champion for ${execution.mode}/${execution.model} to judge against (its baseline failed)`],
    }).then(async (row) => {
      await deps.executor.settle(request.experimentId);
      return row;
    });
  }
  const verdict = judge(request, execution, champion, deps);
  return record(deps, request, execution, verdict, { hypothesis, changes, ...(line ? { line } : {}) });
}

/** Null when the wait was interrupted: the experiment stays in flight for the next run. */
export async function waitFor(deps: LoopDeps, id: string, signal: AbortSignal, onTrained?: () => void): Promise<ExperimentExecution | null> {
  try {
    return await deps.executor.wait(id, { signal, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}), ...(onTrained ? { onTrained } : {}) });
  } catch (error) {
    if (signal.aborted) {
      deps.log.warn({ experimentId: id, why: abortReason(signal) }, 'stopped waiting; the experiment stays in flight and the next `autoresearch run` resumes it');
      return null;
    }
    throw error;
  }
}
