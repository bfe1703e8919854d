import type { Job, Queue } from 'bullmq';
import { readLocalEvalRun } from '../src/eval/run-folder.js';
import type { ArtifactStore } from '../src/fleet/artifact-client.js';
import { emptyTraining, experimentExecutionSchema, type ExperimentExecution, type TrainingSummary } from '../src/research/executor.js';
import { evalResultSchema } from './contracts.js';
import type { ExperimentRecord } from './experiment-state.js';

/** A finished experiment's execution, from its record and this machine's own eval run folder. */
export async function executionOf(record: ExperimentRecord, stateDir: string, artifacts: ArtifactStore): Promise<ExperimentExecution> {
  const evalResult = record.result ? evalResultSchema.parse(JSON.parse(record.result)) : null;
  // Redis names the run; its folder and scores are this machine's own (the Mini evaluates), never a path from Redis.
  const evalRun = evalResult ? readLocalEvalRun(stateDir, evalResult.runId) : null;
  const adapterSha256 = record.adapterSha256 ?? null;
  return experimentExecutionSchema.parse({
    experimentId: record.request.experimentId,
    mode: record.mode,
    modeReason: record.modeReason,
    model: record.model,
    training: record.training ?? null,
    adapterSha256,
    adapterPath: adapterSha256 ? await artifacts.resolveBundle(adapterSha256) : null,
    eval: evalRun?.summary ?? null,
    evalRunDir: evalRun?.dir ?? null,
  }) as ExperimentExecution;
}

/**
 * The return value of a job whose state was just read as completed. The job was fetched before its state, so
 * a job that completed in between was read while still active, without its return value: read it again then.
 */
export async function finalReturnValue(queue: Queue, job: Job): Promise<unknown> {
  if (job.returnvalue !== null && job.returnvalue !== undefined) return job.returnvalue;
  return (await queue.getJob(job.id!))?.returnvalue ?? null;
}

export function failedTraining(message: string): TrainingSummary {
  return emptyTraining('crashed', message, { machine: 'unknown', datasetSha256: null });
}
