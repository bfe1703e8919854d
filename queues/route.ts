import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../src/log.js';
import type { ExperimentRecord, ExperimentStore } from './experiment-state.js';
import { parsePayload, sectionValuesSchema, type TrainJob } from './contracts.js';
import { jobIds } from './names.js';
import type { FleetQueues } from './queues.js';
import { pickupAction, pickupReason } from './routing.js';

export interface RouteContext {
  queues: FleetQueues;
  experiments: ExperimentStore;
  proxyModel: string;
  /** The proxy mode's search space (models.proxy.searchSpace); a rerouted job's values must fit it. */
  proxySearchSpace: string;
  pickupDeadlineMs: number;
  /** How soon to look again at a full job that a worker holds. */
  recheckMs: number;
  log: Logger;
}

export type RouteOutcome = { action: 'rerouted' | 'left'; detail: string };

/** The training payload for `mode`, rebuilt from the experiment's record (the single source of truth). */
export function trainPayload(record: ExperimentRecord, mode: 'full' | 'proxy', searchSpace: string): TrainJob {
  return {
    experimentId: record.request.experimentId,
    mode,
    commit: record.request.commit,
    searchSpace,
    // Parsed again: the record is Redis data, and the payload must pass the mode's table on its way in.
    values: sectionValuesSchema(searchSpace).parse(record.request.values),
    datasetSha256: record.datasetSha256!,
    ...(record.request.trainPyCodeSha256 ? { trainPyCodeSha256: record.request.trainPyCodeSha256 } : {}),
  };
}

/**
 * The pickup deadline of one full-mode experiment: a job still waiting when it passes, while no full-mode training
 * runs, is run in proxy mode instead. Withdrawing is `remove`, which BullMQ refuses (returns 0)
 * for a job whose lock a worker holds, so a laptop that took the job in the meantime keeps it. The switch to
 * proxy is a compare-and-set on the record, and the proxy job's id is fixed, so however often this runs
 * (retries after a crash, a duplicate check), the experiment is rerouted at most once.
 */
export function createRouteProcessor(ctx: RouteContext) {
  return async (job: Job, token: string | undefined, _signal?: AbortSignal): Promise<RouteOutcome> => {
    let experimentId: string;
    try {
      experimentId = parsePayload('route', job.data).experimentId;
    } catch (error) {
      throw new UnrecoverableError((error as Error).message);
    }
    const log = ctx.log.child({ queue: 'route', experimentId });
    const fullId = jobIds.train(experimentId, 'full');
    const proxyId = jobIds.train(experimentId, 'proxy');
    const recheck = async (why: string): Promise<never> => {
      log.debug({ why }, 'pickup deadline: looking again later');
      await job.moveToDelayed(Date.now() + ctx.recheckMs, token);
      throw new DelayedError();
    };

    const record = await ctx.experiments.read(experimentId);
    if (!record) return { action: 'left', detail: 'experiment settled or unknown' };
    if (record.stage === 'enqueueing') return recheck('experiment still being enqueued');
    if (record.stage !== 'train') return { action: 'left', detail: `experiment is at stage ${record.stage}` };
    if (record.trainJobId === proxyId) {
      // Rerouted by an earlier attempt that stopped before adding the proxy job: adding is idempotent.
      await ctx.queues.add('train-proxy', proxyId, trainPayload(record, 'proxy', ctx.proxySearchSpace));
      return { action: 'rerouted', detail: 'proxy job ensured' };
    }
    if (record.trainJobId !== fullId) return { action: 'left', detail: `experiment trains as ${record.trainJobId}` };
    if (!sectionValuesSchema(ctx.proxySearchSpace).safeParse(record.request.values).success) {
      // Planned in the full mode's search space and outside the proxy's: only the laptop can train it.
      return { action: 'left', detail: `values outside the proxy search space ${ctx.proxySearchSpace}; the full job waits for the laptop` };
    }

    const full = ctx.queues.get('train-full');
    const state = await full.getJobState(fullId);
    const action = pickupAction(state);
    if (action === 'recheck') return recheck(`full job is ${state}`);
    if (action === 'leave') return { action: 'left', detail: `full job is ${state}` };
    // Queued behind another experiment the laptop is training (several in flight queue the next one ahead): the
    // laptop is awake, so the deadline waits; a laptop asleep loses that lock and the stalled check frees the queue.
    if ((await full.getActiveCount()) > 0) return recheck('the laptop is training another experiment; this one is queued behind it');
    if (state !== 'unknown' && (await full.remove(fullId)) !== 1) return recheck('a worker took the full job just now');

    const reason = pickupReason(ctx.pickupDeadlineMs);
    const switched = await ctx.experiments.compareAndSet(
      experimentId,
      { stage: 'train', trainJobId: fullId },
      { mode: 'proxy', modeReason: reason, model: ctx.proxyModel, trainJobId: proxyId },
    );
    if (!switched) return { action: 'left', detail: 'experiment moved on meanwhile' };
    await ctx.queues.add('train-proxy', proxyId, trainPayload(record, 'proxy', ctx.proxySearchSpace));
    log.info({ reason }, 'full job withdrawn: running as proxy');
    return { action: 'rerouted', detail: reason };
  };
}
