import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Config } from '../src/config/load.js';
import type { ArtifactStore } from '../src/fleet/artifact-client.js';
import type { GpuLease } from '../src/fleet/gpu-lease.js';
import type { HeartbeatHandle } from '../src/fleet/presence.js';
import type { Logger } from '../src/log.js';
import { emptyTraining, type TrainingSummary } from '../src/research/executor.js';
import { InvalidPayloadError, parsePayload, type JobProgress } from '../queues/contracts.js';
import type { HandedBackAttempt } from '../queues/job-spans.js';
import { jobIds } from '../queues/names.js';
import type { AccessGuard } from './artifact-access.js';
import { cancelReasonOf, type GpuWindow, type Trainer, type TrainOutcome } from './contracts.js';
import { FinishedTrainings } from './finished-training.js';
import { checkTrainCode } from './train-code.js';

export interface TrainProcessorContext {
  queue: 'train-full' | 'train-proxy';
  config: Config;
  artifacts: ArtifactStore;
  lease: GpuLease;
  heartbeat: HeartbeatHandle;
  trainer: Trainer;
  log: Logger;
  gpuWindow: GpuWindow;
  finished: FinishedTrainings;
  accessGuard: AccessGuard;
  /**
   * On a machine that also evaluates: whether evaluations are waiting in the eval queue. A training job lets
   * them take the GPU first, so a finished experiment's result never waits behind a whole training run.
   */
  evalsWaiting?: () => Promise<boolean>;
  /** Records an attempt handed back to the queue, for the timeline (queues/job-spans.ts recordHandedBack). */
  recordHandedBack?: (queue: 'train-full' | 'train-proxy', attempt: HandedBackAttempt) => Promise<void>;
}

/** How often a training job waiting for queued evaluations to start looks again. */
const EVALS_FIRST_POLL_MS = 100;

/** Progress goes to Redis at most this often: a 30-minute run needs no more, and an outage queues little. */
const PROGRESS_EVERY_MS = 1_000;

export function createTrainProcessor(ctx: TrainProcessorContext) {
  // Three declared parameters: BullMQ passes the cancellation signal only to processors that take it.
  return async (job: Job, token: string | undefined, signal?: AbortSignal): Promise<TrainingSummary> => {
    const payload = validJob(ctx.queue, job, ctx.config);
    const log = ctx.log.child({ queue: ctx.queue, jobId: job.id, experimentId: payload.experimentId });
    await waitForGpuWindow(ctx.gpuWindow, job, token, log);
    const abort = signal ?? new AbortController().signal;
    const model = ctx.config.models[payload.mode].model;
    const key = FinishedTrainings.keyOf(payload, model);
    const summarize = async (outcome: TrainOutcome): Promise<TrainingSummary> => {
      const { adapterDir, ...rest } = outcome;
      const adapterSha256 = adapterDir ? await ctx.artifacts.publishFolder(adapterDir) : null;
      log.info({ status: outcome.status, iterations: outcome.iterations, adapterSha256 }, 'training finished');
      return { ...rest, adapterSha256, datasetSha256: payload.datasetSha256, machine: ctx.config.fleet.machine };
    };
    const code = await checkTrainCode(payload, ctx.config.fleet.machine);
    if (!code.ok) {
      log.error({ commit: payload.commit }, code.message);
      throw new UnrecoverableError(code.message);
    }
    if (!code.verified) log.warn({ commit: payload.commit }, 'cannot check train.py against the commit (no hash in the job, commit not in this checkout)');
    try {
      // No GPU needed to publish what this machine already trained for this very job (its result was refused).
      const finished = await ctx.finished.load(job.id!, key);
      if (finished) {
        log.info({ adapterDir: finished.adapterDir }, 'this job was already trained here and its result refused: publishing that adapter, not retraining');
        return await summarize(finished);
      }
      await letEvalsGoFirst(ctx, abort, log);
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
            model,
            datasetDir,
            searchSpace: payload.searchSpace,
            values: payload.values,
            signal: abort,
            onProgress: (p) => report({ stage: 'train', ...p }),
          });
          abort.throwIfAborted();
          // Before publishing: an outage from here on must not cost the training.
          await ctx.finished.save(job.id!, key, outcome);
          return summarize(outcome);
        },
        abort,
      );
    } catch (error) {
      if (cancelReasonOf(abort) === null && (await ctx.accessGuard.refusedNow())) await handBack(job, token);
      const reason = cancelReasonOf(abort);
      if ((reason === 'preempted' || reason === 'shutdown') && job.processedOn && ctx.recordHandedBack) {
        // The GPU was busy with it: the timeline draws the attempt, whose start BullMQ overwrites on the next one.
        const attempt = { jobId: job.id!, experimentId: payload.experimentId, machine: ctx.config.fleet.machine, queuedAt: job.timestamp, startedAt: job.processedOn, finishedAt: Date.now() };
        await ctx.recordHandedBack(ctx.queue, attempt).catch((e: Error) => log.warn({ err: e.message }, 'could not record the handed-back attempt for the timeline'));
      }
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
 * A cancelled job ends by why it was cancelled: on shutdown or preemption it goes back to `wait` without spending an attempt;
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
  // Preempted by a full-mode result's evaluation on this machine: back to `wait`, trained again from the start.
  if (reason === 'shutdown' || reason === 'preempted') await handBack(job, token);
  return emptyTraining('canceled', 'stopped at the morning deadline (idleServer.morningDeadline)', { machine, datasetSha256 });
}

/** Back to `wait` without spending an attempt: the job is fine, this machine cannot run it. */
export async function handBack(job: Job, token: string | undefined): Promise<never> {
  if (token) await job.moveToWait(token);
  throw new WaitingError();
}

/** Waits while evaluations are queued on this machine; the eval worker takes them and the GPU lease orders them first. */
async function letEvalsGoFirst(ctx: TrainProcessorContext, signal: AbortSignal, log: Logger): Promise<void> {
  if (!ctx.evalsWaiting) return;
  let logged = false;
  while (await ctx.evalsWaiting().catch(() => false)) {
    if (!logged) log.info('evaluations are queued on this machine: they take the GPU first');
    logged = true;
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, EVALS_FIRST_POLL_MS));
  }
}

/** A GPU job taken while the idle server owns the GPU goes back, delayed until the window opens, spending no attempt. */
export async function waitForGpuWindow(window: GpuWindow, job: Job, token: string | undefined, log: Logger): Promise<void> {
  const opensAt = window(new Date());
  if (opensAt === null || !token) return;
  log.info({ until: new Date(opensAt).toISOString() }, 'the idle server has the GPU until idleServer.nightStart: job delayed');
  await job.moveToDelayed(opensAt, token);
  throw new DelayedError();
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
