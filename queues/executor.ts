import { mkdir } from 'node:fs/promises';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config/load.js';
import { readLocalEvalRun } from '../src/eval/run-folder.js';
import { artifactStoreFor, type ArtifactStore } from '../src/fleet/artifact-client.js';
import { readPresence } from '../src/fleet/presence.js';
import { logger, type Logger } from '../src/log.js';
import { workerConnection } from '../src/redis/connections.js';
import { trainPyAtCommit, trainPyCodeSha256 } from '../src/train/train-py-code.js';
import {
  emptyTraining,
  experimentExecutionSchema,
  trainingSummarySchema,
  type ExperimentExecution,
  type ExperimentExecutor,
  type ExperimentProgress,
  type ExperimentRequest,
  type TrainingSummary,
} from '../src/research/executor.js';
import { describeValueIssues } from '../src/research/hyperparameters.js';
import { evalResultSchema, experimentIdSchema, sectionValuesSchema, sha256Schema } from './contracts.js';
import { ExperimentStore, type ExperimentRecord } from './experiment-state.js';
import { jobIds, trainQueueFor } from './names.js';
import { councilDatasetPreparer } from './prepare.js';
import { FleetQueues } from './queues.js';
import { trainPayload } from './route.js';
import { chooseMode } from './routing.js';
import { worstCaseSeconds } from '../src/research/schedule.js';

export interface FleetExecutorDeps {
  /** Prepares the experiment's dataset on this (the planner's) machine. @defaultValue prepare.py on the council */
  prepareDataset?: (request: ExperimentRequest, searchSpace: string) => Promise<{ dir: string }>;
  artifacts?: ArtifactStore;
  /** How often `wait` looks at Redis. */
  pollMs?: number;
  /** The clock for the wait's overall deadline. @defaultValue Date.now */
  now?: () => number;
  log?: Logger;
}

export interface FleetExecutor extends ExperimentExecutor {
  close(): Promise<void>;
}

/**
 * The BullMQ implementation of the executor. All state is in Redis (the experiment's record plus its jobs),
 * so `wait` can be called again by a restarted planner. Results are read only from the job the record points
 * at, and only once BullMQ has accepted it as completed: a late duplicate from a machine that lost its lock
 * was refused by BullMQ and never becomes a result.
 */
export function createFleetExecutor(config: Config, redisUrl: string, deps: FleetExecutorDeps = {}): FleetExecutor {
  const prepareDataset = deps.prepareDataset ?? councilDatasetPreparer(config);
  const redis: Redis = workerConnection(redisUrl);
  redis.on('error', () => undefined);
  const prefix = config.redis.prefix;
  const queues = new FleetQueues(redis, { prefix, attempts: config.fleet.attempts });
  const store = new ExperimentStore(redis, prefix);
  const artifacts = deps.artifacts ?? artifactStoreFor(config);
  const pollMs = deps.pollMs ?? 1_000;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? logger('executor');

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

  const execution = async (record: ExperimentRecord): Promise<ExperimentExecution> => {
    const evalResult = record.result ? evalResultSchema.parse(JSON.parse(record.result)) : null;
    // Redis names the run; its folder and scores are this machine's own (the Mini evaluates), never a path from Redis.
    const evalRun = evalResult ? readLocalEvalRun(config.paths.state, evalResult.runId) : null;
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
  };

  /** One look at the experiment; returns its execution when done. `missing` counts looks that found no train job. */
  const step = async (
    experimentId: string,
    onProgress: ((p: ExperimentProgress) => void) | undefined,
    watch: { started: number; missing: number; readded: boolean },
  ): Promise<ExperimentExecution | null> => {
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
        return execution(record);
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

  return {
    async submit(request) {
      experimentIdSchema.parse(request.experimentId);
      if (request.championAdapterSha256) sha256Schema.parse(request.championAdapterSha256);
      const existing = await store.read(request.experimentId);
      if (existing) {
        if (existing.stage === 'enqueueing') await enqueue(existing);
        return;
      }
      const presence = await readPresence(redis, prefix);
      const route = chooseMode(request.mode, presence.live);
      const space = config.models[route.mode].searchSpace;
      const checked = sectionValuesSchema(space).safeParse(request.values);
      if (!checked.success) {
        throw new Error(`${request.experimentId}: the values do not fit ${route.mode} mode's search space ${space}: ${describeValueIssues(checked.error.issues).join('; ')}`);
      }
      const fields: Record<string, string> = {
        mode: route.mode,
        modeReason: route.reason,
        model: config.models[route.mode].model,
        submittedAt: new Date(now()).toISOString(),
      };
      if (request.kind === 'experiment') {
        // Workers compare their own train.py with the commit's: none trains code the experiment did not name.
        const committed = request.trainPyCodeSha256 ? null : await trainPyAtCommit(config.paths.repo, request.commit);
        if (committed !== null) request = { ...request, trainPyCodeSha256: trainPyCodeSha256(committed) };
        await mkdir(config.paths.state, { recursive: true });
        const dataset = await prepareDataset(request, space);
        fields.datasetSha256 = await artifacts.publishFolder(dataset.dir);
      }
      if (!(await store.create(request, fields))) return;
      log.info({ experimentId: request.experimentId, mode: route.mode, reason: route.reason }, 'experiment submitted');
      const record = await store.read(request.experimentId);
      await enqueue(record!);
    },

    async wait(experimentId, { signal, onProgress, onTrained } = {}) {
      const watch = { started: now(), missing: 0, readded: false };
      let trained = false;
      for (;;) {
        signal?.throwIfAborted();
        // Raced with the signal: through a Redis outage a look blocks until Redis is back, and a planner told to
        // stop (or that lost its lease) must not block with it.
        const done = await untilAborted(step(experimentId, onProgress, watch), signal);
        const stage = done || trained || !onTrained ? null : (await untilAborted(store.read(experimentId), signal))?.stage;
        if (!trained && onTrained && (done || stage === 'eval' || stage === 'done')) {
          trained = true;
          onTrained();
        }
        if (done) return done;
        await sleep(pollMs, signal);
      }
    },

    async pending() {
      const requests: ExperimentRequest[] = [];
      for (const id of await store.pendingIds()) {
        const record = await store.read(id);
        if (record) requests.push(record.request);
      }
      return requests;
    },

    async settle(experimentId) {
      await store.forget(experimentId);
    },

    async close() {
      await queues.close();
      redis.disconnect();
    },
  };
}

/**
 * The return value of a job whose state was just read as completed. The job was fetched before its state, so
 * a job that completed in between was read while still active, without its return value: read it again then.
 */
async function finalReturnValue(queue: Queue, job: Job): Promise<unknown> {
  if (job.returnvalue !== null && job.returnvalue !== undefined) return job.returnvalue;
  return (await queue.getJob(job.id!))?.returnvalue ?? null;
}

function failedTraining(message: string): TrainingSummary {
  return emptyTraining('crashed', message, { machine: 'unknown', datasetSha256: null });
}

function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
