import { UnrecoverableError, type Job } from 'bullmq';
import type { Config } from '../src/config/load.js';
import type { ArtifactStore } from '../src/fleet/artifact-client.js';
import { GPU_PRIORITY, type GpuLease } from '../src/fleet/gpu-lease.js';
import type { HeartbeatHandle } from '../src/fleet/presence.js';
import type { Logger } from '../src/log.js';
import { InvalidPayloadError, parsePayload, type EvalResult, type JobProgress } from '../queues/contracts.js';
import { jobIds } from '../queues/names.js';
import type { AccessGuard } from './artifact-access.js';
import { cancelReasonOf, type Evaluator, type GpuWindow } from './contracts.js';
import { handBack, throttled, waitForGpuWindow } from './train-processor.js';

export interface EvalProcessorContext {
  config: Config;
  artifacts: ArtifactStore;
  lease: GpuLease;
  heartbeat: HeartbeatHandle;
  evaluator: Evaluator;
  log: Logger;
  gpuWindow: GpuWindow;
  accessGuard: AccessGuard;
  /**
   * Called before a full-mode evaluation waits for the GPU: on a machine that also trains proxy-mode experiments,
   * it hands a running proxy training back to its queue, so the laptop's result is not held for a whole proxy budget.
   */
  preemptFor?: (mode: 'full' | 'proxy', log: Logger) => void;
}

export function createEvalProcessor(ctx: EvalProcessorContext) {
  return async (job: Job, token: string | undefined, signal?: AbortSignal): Promise<EvalResult> => {
    let payload;
    try {
      payload = parsePayload('eval', job.data);
      if (job.id !== jobIds.eval(payload.experimentId)) {
        throw new InvalidPayloadError(`job ${job.id} does not match its payload (expected id ${jobIds.eval(payload.experimentId)})`);
      }
    } catch (error) {
      throw new UnrecoverableError((error as Error).message);
    }
    const { experimentId, mode, adapterSha256 } = payload;
    const log = ctx.log.child({ queue: 'eval', jobId: job.id, experimentId });
    await waitForGpuWindow(ctx.gpuWindow, job, token, log);
    const abort = signal ?? new AbortController().signal;
    ctx.preemptFor?.(mode, log);
    try {
      return await ctx.lease.run(
        `eval:${job.id}`,
        async () => {
          ctx.heartbeat.setBusy({ queue: 'eval', jobId: job.id!, experimentId });
          const adapterPath = adapterSha256 ? await ctx.artifacts.resolveBundle(adapterSha256) : null;
          const report = throttled(async (progress: JobProgress) => {
            ctx.heartbeat.setProgress(progress);
            await job.updateProgress(progress);
          });
          log.info({ adapterSha256 }, 'evaluation started');
          const run = await ctx.evaluator({
            mode,
            model: ctx.config.models[mode].model,
            adapterPath,
            adapterSha256,
            signal: abort,
            onProgress: (p) => report({ stage: 'eval', ...p }),
          });
          abort.throwIfAborted();
          log.info({ overall: run.summary.overall, runDir: run.dir }, 'evaluation finished');
          // The run's id only: the planner, on this machine, reads the summary from <state>/evals/<runId>/ itself.
          return { runId: run.runId, machine: ctx.config.fleet.machine };
        },
        abort,
        mode === 'full' ? GPU_PRIORITY.fullEval : GPU_PRIORITY.eval,
      );
    } catch (error) {
      const reason = cancelReasonOf(abort);
      if (reason === null) {
        if (await ctx.accessGuard.refusedNow()) await handBack(job, token);
        throw error;
      }
      log.warn({ reason }, 'evaluation cancelled');
      if (reason === 'shutdown') await handBack(job, token);
      if (reason === 'morning-deadline') throw new UnrecoverableError('stopped at the morning deadline (idleServer.morningDeadline)');
      throw new Error(`lost the lock on job ${job.id}; its result is discarded`);
    } finally {
      ctx.heartbeat.setBusy(null);
    }
  };
}
