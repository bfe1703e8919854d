import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Config } from '../src/config/load.js';
import type { ArtifactStore } from '../src/fleet/artifact-client.js';
import type { GpuLease } from '../src/fleet/gpu-lease.js';
import type { HeartbeatHandle } from '../src/fleet/presence.js';
import type { Logger } from '../src/log.js';
import { emptyTraining, type TrainingSummary } from '../src/research/executor.js';
import { InvalidPayloadError, parsePayload, type JobProgress } from '../queues/contracts.js';
import { jobIds } from '../queues/names.js';
import { cancelReasonOf, type Trainer } from './contracts.js';

export interface TrainProcessorContext {
  queue: 'train-full' | 'train-proxy';
  config: Config;
  artifacts: ArtifactStore;
  lease: GpuLease;
  heartbeat: HeartbeatHandle;
  trainer: Trainer;
  log: Logger;
}

/** Progress goes to Redis at most this often: a 30-minute run needs no more, and an outage queues little. */
const PROGRESS_EVERY_MS = 1_000;

export function createTrainProcessor(ctx: TrainProcessorContext) {
  // Three declared parameters: BullMQ passes the cancellation signal only to processors that take it.
  return async (job: Job, token: string | undefined, signal?: AbortSignal): Promise<TrainingSummary> => {
    const payload = validJob(ctx.queue, job, ctx.config);
    const log = ctx.log.child({ queue: ctx.queue, jobId: job.id, experimentId: payload.experimentId });
    const abort = signal ?? new AbortController().signal;
    try {
      return await ctx.lease.run(
        `${ctx.queue}:${job.id}`,
        async () => {
          ctx.heartbeat.setBusy({ queue: ctx.queue, jobId: job.id!, experimentId: payload.experimentId });
          const datasetDir = await ctx.artifacts.resolveBundle(payload.datasetSha256);
          const runDir = join(ctx.config.paths.state, 'runs', job.id!, safeSegment(token ?? `attempt-${job.attemptsStarted}`));
          await mkdir(runDir, { recursive: true });
          log.info({ runDir, attempt: job.attemptsStarted }, 'training started');
          const report = throttled(async (progress: JobProgress) => {
            ctx.heartbeat.setProgress(progress);
            await job.updateProgress(progress);
          });
          const outcome = await ctx.trainer({
            runDir,
            mode: payload.mode,
            model: ctx.config.models[payload.mode].model,
            datasetDir,
            searchSpace: payload.searchSpace,
            values: payload.values,
            signal: abort,
            onProgress: (p) => report({ stage: 'train', ...p }),
          });
          abort.throwIfAborted();
          const { adapterDir, ...rest } = outcome;
          const adapterSha256 = adapterDir ? await ctx.artifacts.publishFolder(adapterDir) : null;
          log.info({ status: outcome.status, iterations: outcome.iterations, adapterSha256 }, 'training finished');
          return { ...rest, adapterSha256, datasetSha256: payload.datasetSha256, machine: ctx.config.fleet.machine };
        },
        abort,
      );
    } catch (error) {
      return settleCancellation(job, token, abort, error, log, ctx.config.fleet.machine, payload.datasetSha256);
    } finally {
      ctx.heartbeat.setBusy(null);
    }
  };
}

function validJob(queue: 'train-full' | 'train-proxy', job: Job, config: Config) {
  try {
    const payload = parsePayload(queue, job.data);
    const expected = jobIds.train(payload.experimentId, queue === 'train-full' ? 'full' : 'proxy');
    if (job.id !== expected || payload.mode !== (queue === 'train-full' ? 'full' : 'proxy')) {
      throw new InvalidPayloadError(`job ${job.id} on ${queue} does not match its payload (expected id ${expected})`);
    }
    const mine = config.models[payload.mode].searchSpace;
    if (payload.searchSpace !== mine) {
      throw new InvalidPayloadError(
        `job ${job.id} was planned in search space ${payload.searchSpace}, but this machine's models.${payload.mode}.searchSpace is ${mine}; ` +
          'give both machines the same models config',
      );
    }
    return payload;
  } catch (error) {
    // A malformed job would fail the same way on every attempt: fail it once, for good.
    throw new UnrecoverableError((error as Error).message);
  }
}

/**
 * A cancelled job ends by why it was cancelled: on shutdown it goes back to `wait` without spending an attempt;
 * after a lost lock it just stops (the job is someone else's now, and BullMQ refuses whatever we would write);
 * at the morning deadline it completes as `canceled`, so the night's record says what happened.
 */
async function settleCancellation(
  job: Job,
  token: string | undefined,
  signal: AbortSignal,
  error: unknown,
  log: Logger,
  machine: string,
  datasetSha256: string,
): Promise<TrainingSummary> {
  const reason = cancelReasonOf(signal);
  if (reason === null) throw error;
  log.warn({ reason }, 'training cancelled');
  if (reason === 'lock-lost') throw new Error(`lost the lock on job ${job.id} (machine asleep or cut off); its result is discarded`);
  if (reason === 'shutdown') {
    if (token) await job.moveToWait(token);
    throw new WaitingError();
  }
  return emptyTraining('canceled', 'stopped at the morning deadline (idleServer.morningDeadline)', { machine, datasetSha256 });
}

export function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 120);
}

/** Calls `fn` at most every PROGRESS_EVERY_MS with the latest value; failures (Redis away) are dropped. */
export function throttled<T>(fn: (value: T) => Promise<void>): (value: T) => void {
  let last = 0;
  let pending: T | null = null;
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    if (pending === null) return;
    const value = pending;
    pending = null;
    last = Date.now();
    fn(value).catch(() => undefined);
  };
  return (value: T) => {
    pending = value;
    const wait = last + PROGRESS_EVERY_MS - Date.now();
    if (wait <= 0) flush();
    else if (!timer) timer = setTimeout(flush, wait).unref();
  };
}
