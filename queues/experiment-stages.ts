import type { Config } from '../src/config/load.js';
import type { ArtifactStore } from '../src/fleet/artifact-client.js';
import type { Logger } from '../src/log.js';
import { emptyTraining, type TrainingSummary } from '../src/research/executor.js';
import { worstCaseSeconds } from '../src/research/schedule.js';
import type { ExperimentRecord, ExperimentStore } from './experiment-state.js';
import { failedTraining } from './job-results.js';
import { jobIds, trainQueueFor } from './names.js';
import type { FleetQueues } from './queues.js';
import { trainPayload } from './route.js';

/** What the executor's parts share: the queues and experiment records on one Redis connection, and its clock. */
export interface ExecutorContext {
  config: Config;
  queues: FleetQueues;
  store: ExperimentStore;
  artifacts: ArtifactStore;
  now: () => number;
  log: Logger;
}

export type ExperimentStages = ReturnType<typeof experimentStages>;

/**
 * How an experiment's record moves from stage to stage, with the jobs each stage needs. Every move is a
 * compare-and-set from the stage it leaves, so a planner that repeats one after a restart moves it at most once.
 */
export function experimentStages({ config, queues, store, log }: ExecutorContext) {
  /**
   * The latest an experiment may finish: from its submission, the training budget and grace of its mode twice (it
   * may be queued behind another one of its mode), the pickup deadline when an auto request went to the laptop,
   * and run.evalAllowanceSeconds. Past it nothing will
   * come (a worker died with the job, the job vanished, no machine consumes the queue) and waiting on would hold
   * the planner lease all night.
   */
  const deadlineOf = (record: ExperimentRecord, waitStarted: number): number => {
    const submitted = record.submittedAt ? Date.parse(record.submittedAt) : waitStarted;
    // An auto request may wait out the pickup deadline and then train in proxy mode: bound it as routed to full.
    const routed = record.request.mode === 'auto' ? 'full' : record.mode;
    const seconds = worstCaseSeconds(record.request.kind, record.request.mode, routed, config.models, config.fleet.pickupDeadlineMs, config.run.evalAllowanceSeconds);
    // Several in flight queue an experiment behind the one its machine trains: allow for that training too.
    const queuedBehind = record.request.kind === 'experiment' ? config.models[routed].budgetSeconds + config.models[routed].graceSeconds : 0;
    return submitted + (seconds + queuedBehind) * 1000;
  };

  /** Ends an experiment that ran out of time: training becomes `timeout`, an evaluation a failed one. */
  const expire = async (record: ExperimentRecord, seconds: number): Promise<void> => {
    const { experimentId } = record.request;
    const why = `no result within ${seconds} s of its submission (its training budget + grace, as much again for one queued ahead of it, and the eval allowance); the fleet lost it or never took it`;
    log.error({ experimentId, stage: record.stage, trainJobId: record.trainJobId, evalJobId: record.evalJobId }, why);
    // A job still waiting would be trained or evaluated for nobody: withdraw it (BullMQ refuses if a worker holds it).
    if (record.stage === 'train') {
      await startEval(record, emptyTraining('timeout', why, { machine: 'unknown', datasetSha256: record.datasetSha256 ?? null }));
      const queue = record.trainJobId!.endsWith('-train-full') ? 'train-full' : 'train-proxy';
      await queues.get(queue).remove(record.trainJobId!).catch(() => 0);
    } else if (record.stage === 'eval' || record.stage === 'enqueueing') {
      await store.compareAndSet(experimentId, { stage: record.stage }, { stage: 'done' });
      if (record.evalJobId) await queues.get('eval').remove(record.evalJobId).catch(() => 0);
    }
  };

  const enqueue = async (record: ExperimentRecord): Promise<void> => {
    const { experimentId } = record.request;
    if (record.request.kind === 'baseline') {
      const evalJobId = jobIds.eval(experimentId);
      const adapterSha256 = record.request.championAdapterSha256 ?? null;
      await queues.add('eval', evalJobId, { experimentId, mode: record.mode, adapterSha256 });
      await store.compareAndSet(experimentId, { stage: 'enqueueing' }, { stage: 'eval', evalJobId, ...(adapterSha256 ? { adapterSha256 } : {}) });
      return;
    }
    const trainJobId = jobIds.train(experimentId, record.mode);
    if (record.mode === 'full') {
      // The deadline is queued before the job it guards, and acts only once the record says `train`.
      await queues.add('route', jobIds.route(experimentId), { experimentId }, { delay: config.fleet.pickupDeadlineMs });
    }
    await queues.add(trainQueueFor(record.mode), trainJobId, trainPayload(record, record.mode, config.models[record.mode].searchSpace));
    await store.compareAndSet(experimentId, { stage: 'enqueueing' }, { stage: 'train', trainJobId });
  };

  const startEval = async (record: ExperimentRecord, training: TrainingSummary): Promise<void> => {
    const { experimentId } = record.request;
    const useful = training.adapterSha256 !== null && (training.status === 'ok' || training.status === 'budget');
    const evalJobId = jobIds.eval(experimentId);
    const moved = await store.compareAndSet(
      experimentId,
      { stage: 'train', trainJobId: record.trainJobId! },
      useful
        ? { stage: 'eval', training: JSON.stringify(training), adapterSha256: training.adapterSha256!, evalJobId }
        : { stage: 'done', training: JSON.stringify(training) },
    );
    if (moved && useful) {
      await queues.add('eval', evalJobId, { experimentId, mode: record.mode, adapterSha256: training.adapterSha256 });
    }
  };

  /**
   * The train job the record points at is gone (removed from the admin board, dropped by retention, or a
   * failed route job withdrew it without adding the proxy one). Seen twice in a row, so a reroute in progress
   * is not mistaken for a loss, it is added again from the record (same id, so at most one copy); if it
   * vanishes again the experiment fails instead of waiting for a job that nobody will run.
   */
  const replaceMissingTrainJob = async (record: ExperimentRecord, watch: { missing: number; readded: boolean }): Promise<void> => {
    const { experimentId } = record.request;
    const trainJobId = record.trainJobId!;
    watch.missing += 1;
    if (watch.missing < 2) return;
    watch.missing = 0;
    if (watch.readded) {
      log.error({ experimentId, trainJobId }, 'the train job disappeared again after being re-added: failing the experiment');
      await startEval(record, failedTraining(`the train job ${trainJobId} disappeared from Redis twice (removed by hand or by retention); not retried again`));
      return;
    }
    const mode = trainJobId === jobIds.train(experimentId, 'full') ? 'full' : 'proxy';
    await queues.add(trainQueueFor(mode), trainJobId, trainPayload(record, mode, config.models[mode].searchSpace));
    watch.readded = true;
    log.warn({ experimentId, trainJobId }, 'the train job was missing from Redis (removed by hand, by retention, or by a failed route job): added it again');
  };

  return { deadlineOf, expire, enqueue, startEval, replaceMissingTrainJob };
}
