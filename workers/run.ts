import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config/load.js';
import { ConfigError, UsageError } from '../src/errors.js';
import { artifactStoreFor } from '../src/fleet/artifact-client.js';
import { GpuLease } from '../src/fleet/gpu-lease.js';
import { IdleServer } from '../src/fleet/idle-server.js';
import { gpuWindowOpen, msUntilClock } from '../src/fleet/morning.js';
import { startHeartbeat } from '../src/fleet/presence.js';
import { startSatelliteRetention } from '../src/fleet/retention.js';
import type { Logger } from '../src/log.js';
import { ChildRegistry, childRegistryDir } from '../src/proc/child-registry.js';
import { producerConnection, workerConnection } from '../src/redis/connections.js';
import { ExperimentStore } from '../queues/experiment-state.js';
import { recordHandedBack, type HandedBackAttempt } from '../queues/job-spans.js';
import { GPU_QUEUES, isQueueName, type QueueName } from '../queues/names.js';
import { FleetQueues } from '../queues/queues.js';
import { createRouteProcessor } from '../queues/route.js';
import { checkArtifactAccess, tokenRefusedError, type AccessGuard } from './artifact-access.js';
import type { Evaluator, GpuWindow, Trainer } from './contracts.js';
import { createEvalProcessor } from './eval-processor.js';
import { FinishedTrainings } from './finished-training.js';
import { createTrainProcessor } from './train-processor.js';

export interface RunWorkerOptions {
  config: Config;
  redisUrl: string;
  role: string;
  log: Logger;
  /** Aborted on SIGTERM/SIGINT: the worker hands its job back, restores the idle server and returns. */
  signal: AbortSignal;
  /** Required when the role consumes a training queue. */
  trainer?: Trainer;
  /** Required when the role consumes `eval`. */
  evaluator?: Evaluator;
  /** Called once every queue's worker is running. */
  onReady?: () => void;
}

/**
 * One worker process for one machine role: a BullMQ Worker per consumed queue (GPU ones serialised by the
 * machine's GPU lease), a checker-only Worker per `stalledCheck` queue, a presence heartbeat, and the morning
 * deadline. Resolves after a clean shutdown.
 */
export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const { config, log, role } = options;
  const roleConfig = config.fleet.roles[role];
  if (!roleConfig) {
    throw new UsageError(`unknown role "${role}"; fleet.roles defines: ${Object.keys(config.fleet.roles).join(', ')}`);
  }
  for (const name of [...roleConfig.consumes, ...roleConfig.stalledCheck]) {
    if (!isQueueName(name)) {
      throw new ConfigError(`fleet.roles.${role} names an unknown queue "${name}"; the queues are train-full, train-proxy, eval, route`);
    }
  }
  const consumes = roleConfig.consumes as QueueName[];
  const trainer = options.trainer;
  const evaluator = options.evaluator;
  if (!trainer && consumes.some((q) => q.startsWith('train-'))) throw new Error(`role ${role} trains but this process has no trainer`);
  if (!evaluator && consumes.includes('eval')) throw new Error(`role ${role} evaluates but this process has no evaluator`);
  await mkdir(config.paths.state, { recursive: true });
  // Before anything else: a model server or trainer left by a worker killed with -9 still holds a model in memory.
  await new ChildRegistry(childRegistryDir(config.paths.state), log.child({ part: 'orphans' })).reapOrphans(config.fleet.killAfterMs);

  const idleServer = new IdleServer(config.idleServer, config.paths.state, log.child({ part: 'idle-server' }));
  const lease = new GpuLease({
    stateDir: config.paths.state,
    idleServer,
    restoreDelayMs: config.idleServer.restoreDelayMs,
    watchIntervalMs: config.idleServer.watchIntervalMs,
    log,
  });
  await lease.recoverAfterCrash();
  lease.startWatchdog();
  const { morningDeadline, nightStart } = config.idleServer;
  const gpuWindow: GpuWindow = (now) =>
    config.idleServer.enabled && !gpuWindowOpen(nightStart, morningDeadline, now) ? now.getTime() + msUntilClock(nightStart, now) : null;

  // Before the heartbeat: a machine the store refuses must not be routed jobs it can only fail.
  const access = await checkArtifactAccess(config);
  if (access === 'refused') throw tokenRefusedError(config);
  if (access === 'unreachable') log.warn({ url: config.fleet.artifacts.url }, 'the artifact store does not answer yet; jobs will retry');

  const { prefix } = config.redis;
  const presenceRedis = producerConnection(options.redisUrl, { maxRetriesPerRequest: 0 });
  presenceRedis.on('error', () => undefined);
  const heartbeat = startHeartbeat({
    redis: presenceRedis,
    prefix,
    machine: config.fleet.machine,
    role,
    consumes,
    intervalMs: config.fleet.heartbeat.intervalMs,
    ttlMs: config.fleet.heartbeat.ttlMs,
  });
  const producer = workerConnection(options.redisUrl);
  producer.on('error', () => undefined);
  const track = (redis: Redis) => {
    redis.on('error', () => undefined);
    connections.push(redis);
    return redis;
  };
  const queues = new FleetQueues(producer, { prefix, attempts: config.fleet.attempts });
  const experiments = new ExperimentStore(producer, prefix);
  const artifacts = artifactStoreFor(config);

  const lock = config.fleet.lock;
  const connections = [producer, presenceRedis];
  const workerOptions = (name: string) => ({
    connection: track(workerConnection(options.redisUrl)),
    prefix,
    name: `${config.fleet.machine}/${role}/${name}`,
    // On a machine that also trains, a second evaluation may be taken while one waits for the GPU lease, so a
    // full-mode result is never stuck behind a proxy one in BullMQ; the lease still runs one GPU job at a time.
    concurrency: name === 'eval' && consumes.some((q) => q.startsWith('train-')) ? 2 : 1,
    lockDuration: lock.durationMs,
    stalledInterval: lock.stalledIntervalMs,
    maxStalledCount: lock.maxStalledCount,
    // The pickup deadline looks again later by moving itself back to `delayed`, and each look is a start: while
    // the laptop trains a 30-minute job (or one queued behind it waits) it would run out of starts and fail.
    ...(name === 'route' ? {} : { maxStartedAttempts: lock.maxStartedAttempts }),
    autorun: false,
  });

  const finished = new FinishedTrainings(join(config.paths.state, 'finished'));
  // A fatal condition found while running (the store started refusing our token) stops this worker like SIGTERM.
  const stopping = new AbortController();
  let fatal: Error | null = null;
  const accessGuard: AccessGuard = {
    async refusedNow() {
      if ((await checkArtifactAccess(config)) !== 'refused') return false;
      if (!fatal) {
        fatal = tokenRefusedError(config);
        log.error({ err: fatal.message }, 'the artifact store refuses this machine: handing the job back and stopping');
        await heartbeat.stop();
        stopping.abort();
      }
      return true;
    },
  };
  // Evaluations first: a training job on a machine that also evaluates waits while evaluations are queued.
  const evalsWaiting = consumes.includes('eval')
    ? async () => {
        const counts = await queues.get('eval').getJobCounts('wait', 'prioritized');
        return (counts.wait ?? 0) + (counts.prioritized ?? 0) > 0;
      }
    : undefined;
  const recordHandedBackAttempt = (queue: QueueName, attempt: HandedBackAttempt) => recordHandedBack(producer, `${prefix}:${queue}`, attempt);
  const trainContext = {
    config,
    artifacts,
    lease,
    heartbeat,
    trainer: trainer!,
    log,
    gpuWindow,
    finished,
    accessGuard,
    recordHandedBack: recordHandedBackAttempt,
    ...(evalsWaiting ? { evalsWaiting } : {}),
  };
  // A full-mode result does not wait for a proxy training this machine has only begun: that training goes back to
  // its queue (no attempt spent) and starts again after the evaluation. Proxy results wait their turn.
  const preemptFor = (mode: 'full' | 'proxy', jobLog: Logger) => {
    const holder = lease.holder;
    if (mode !== 'full' || !holder?.startsWith('train-proxy:')) return;
    const proxyWorker = workers.find((w) => w.name === 'train-proxy');
    if (!proxyWorker) return;
    const jobId = holder.slice('train-proxy:'.length);
    jobLog.info({ preempted: jobId }, 'a full-mode result is waiting for its evaluation: handing the running proxy training back to its queue');
    proxyWorker.cancelJob(jobId, 'preempted');
  };
  const processors: Record<QueueName, () => Processor> = {
    'train-full': () => createTrainProcessor({ queue: 'train-full', ...trainContext }),
    'train-proxy': () => createTrainProcessor({ queue: 'train-proxy', ...trainContext }),
    eval: () => createEvalProcessor({ config, artifacts, lease, heartbeat, evaluator: evaluator!, log, gpuWindow, accessGuard, preemptFor }),
    route: () =>
      createRouteProcessor({
        queues,
        experiments,
        proxyModel: config.models.proxy.model,
        proxySearchSpace: config.models.proxy.searchSpace,
        pickupDeadlineMs: config.fleet.pickupDeadlineMs,
        recheckMs: lock.stalledIntervalMs,
        log,
      }),
  };

  const workers: Worker[] = [];
  for (const name of consumes) {
    const worker = new Worker(name, processors[name](), workerOptions(name));
    worker.on('error', (error) => log.warn({ queue: name, err: error.message }, 'worker error'));
    // A machine that slept past its lock: the job is back in `wait` (or rerouted); stop our stale copy now.
    worker.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids) {
        log.warn({ queue: name, jobId: id }, 'lost the job lock: cancelling the stale run');
        worker.cancelJob(id, 'lock-lost');
      }
    });
    worker.on('failed', (job, error) => log.warn({ queue: name, jobId: job?.id, err: error.message }, 'job failed'));
    workers.push(worker);
  }
  for (const name of roleConfig.stalledCheck) {
    if (consumes.includes(name as QueueName)) continue;
    // No processor: this Worker never takes a job, it only moves jobs whose lock expired back to `wait`.
    const checker = new Worker(name, undefined, workerOptions(`${name}-stalled-check`));
    checker.on('error', (error) => log.warn({ queue: name, err: error.message }, 'stalled checker error'));
    checker.on('stalled', (jobId: string) => log.warn({ queue: name, jobId }, 'job stalled: back to waiting'));
    workers.push(checker);
    await checker.startStalledCheckTimer();
  }
  for (const worker of workers) {
    if (consumes.includes(worker.name as QueueName)) worker.run().catch((error: Error) => log.error({ err: error }, 'worker stopped'));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  let morningTimer: NodeJS.Timeout | null = null;
  const scheduleMorning = () => {
    morningTimer = setTimeout(() => {
      log.warn({ deadline: morningDeadline, gpuJobsWaitUntil: nightStart }, 'morning deadline: stopping GPU work and restoring the idle server');
      for (const w of workers) if (GPU_QUEUES.includes(w.name as QueueName)) w.cancelAllJobs('morning-deadline');
      // Waits until the cancelled job's process has exited (SIGTERM, then SIGKILL) before starting the server.
      lease.restoreNow('morning deadline').catch((error: Error) => log.error({ err: error }, 'could not restore the idle server'));
      scheduleMorning();
    }, msUntilClock(morningDeadline, new Date()));
  };
  if (config.idleServer.enabled) scheduleMorning();

  const stopRetention = config.fleet.artifacts.url
    ? startSatelliteRetention({ stateDir: config.paths.state, ...config.fleet.retention }, (message) => log.warn(message))
    : () => undefined;

  log.info({ machine: config.fleet.machine, role, consumes, stalledCheck: roleConfig.stalledCheck }, 'worker ready');
  options.onReady?.();

  const stop = AbortSignal.any([options.signal, stopping.signal]);
  await new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener('abort', () => resolve(), { once: true });
  });

  log.info('shutting down: handing running jobs back');
  if (morningTimer) clearTimeout(morningTimer);
  stopRetention();
  for (const w of workers) w.cancelAllJobs('shutdown');
  const closed = Promise.all(workers.map((w) => w.close())).then(() => true);
  const timedOut = new Promise<false>((r) => setTimeout(() => r(false), config.fleet.shutdownTimeoutMs).unref());
  if (!(await Promise.race([closed, timedOut]))) {
    log.warn({ timeoutMs: config.fleet.shutdownTimeoutMs }, 'workers did not close in time: forcing');
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
  }
  lease.close();
  await lease.restoreNow('worker stopping').catch((error: Error) => log.error({ err: error }, 'could not restore the idle server'));
  await heartbeat.stop();
  await queues.close();
  for (const redis of connections) redis.disconnect();
  log.info('worker stopped');
  if (fatal) throw fatal;
}
