import type { Job } from 'bullmq';
import { trainingSummarySchema, type ExperimentExecution, type ExperimentProgress } from '../src/research/executor.js';
import { evalResultSchema } from './contracts.js';
import type { ExecutorContext, ExperimentStages } from './experiment-stages.js';
import { executionOf, failedTraining, finalReturnValue } from './job-results.js';

/** One wait's view of its experiment, kept between looks. */
export interface Watch {
  started: number;
  /** Looks in a row that found no train job. */
  missing: number;
  readded: boolean;
}

/** One look at the experiment: moves it on as far as its jobs allow, reports progress, and returns its execution when done. */
export function experimentLook(
  { config, queues, store, artifacts, now, log }: ExecutorContext,
  { deadlineOf, expire, enqueue, startEval, replaceMissingTrainJob }: ExperimentStages,
) {
  return async (experimentId: string, onProgress: ((p: ExperimentProgress) => void) | undefined, watch: Watch): Promise<ExperimentExecution | null> => {
    const record = await store.read(experimentId);
    if (!record) throw new Error(`experiment ${experimentId} has no record in Redis (settled, or Redis lost its data)`);
    const deadline = deadlineOf(record, watch.started);
    if (record.stage !== 'done' && now() > deadline) {
      await expire(record, Math.round((deadline - (record.submittedAt ? Date.parse(record.submittedAt) : watch.started)) / 1000));
      return null;
    }
    const report = (stage: ExperimentProgress['stage'], job?: Job, finished?: (last: Record<string, unknown>) => Record<string, unknown>) => {
      const last = job?.progress && typeof job.progress === 'object' ? (job.progress as Record<string, unknown>) : undefined;
      const detail = last && finished ? { ...last, ...finished(last) } : last;
      const machine = job?.processedBy?.split('/')[0];
      onProgress?.({ experimentId, stage, mode: record.mode, ...(machine ? { machine } : {}), ...(detail ? { detail } : {}) });
    };
    switch (record.stage) {
      case 'enqueueing':
        await enqueue(record);
        return null;
      case 'train': {
        const queue = queues.get(record.trainJobId!.endsWith('-train-full') ? 'train-full' : 'train-proxy');
        const job = await queue.getJob(record.trainJobId!);
        const state = job ? await job.getState() : 'unknown';
        if (!job || state === 'unknown') {
          await replaceMissingTrainJob(record, watch);
          return null;
        }
        watch.missing = 0;
        if (state === 'completed') {
          const parsed = trainingSummarySchema.safeParse(await finalReturnValue(queue, job));
          // The worker throttles its progress, so the last one seen is often short of the end; the summary's count is not.
          if (parsed.success) report('train', job, () => ({ iteration: parsed.data.iterations, etaSeconds: 0 }));
          await startEval(
            record,
            parsed.success ? parsed.data : failedTraining(`the trainer returned an invalid summary: ${parsed.error.issues[0]?.message}`),
          );
        } else if (state === 'failed') {
          await startEval(record, failedTraining(job.failedReason || 'training failed'));
        } else {
          report(state === 'active' ? 'train' : 'queued', job);
        }
        return null;
      }
      case 'eval': {
        const job = await queues.get('eval').getJob(record.evalJobId!);
        const state = job ? await job.getState() : 'unknown';
        if (!job || state === 'unknown') {
          // The record moved to eval but the job was never added (the planner stopped in between).
          await queues.add('eval', record.evalJobId!, {
            experimentId,
            mode: record.mode,
            adapterSha256: record.adapterSha256 ?? null,
          });
        } else if (state === 'completed') {
          const parsed = evalResultSchema.safeParse(await finalReturnValue(queues.get('eval'), job));
          if (!parsed.success) log.error({ experimentId, issue: parsed.error.issues[0] }, 'eval result is malformed');
          // A completed evaluation has scored every case it counted.
          else report('eval', job, (last) => (typeof last.total === 'number' ? { done: last.total } : {}));
          await store.compareAndSet(
            experimentId,
            { stage: 'eval' },
            parsed.success ? { stage: 'done', result: JSON.stringify(parsed.data) } : { stage: 'done' },
          );
        } else if (state === 'failed') {
          log.error({ experimentId, reason: job.failedReason }, 'evaluation failed');
          await store.compareAndSet(experimentId, { stage: 'eval' }, { stage: 'done' });
        } else {
          report(state === 'active' ? 'eval' : 'queued', job);
        }
        return null;
      }
      case 'done':
        return executionOf(record, config.paths.state, artifacts);
    }
  };
}
