import { mkdir } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config/load.js';
import { artifactStoreFor, type ArtifactStore } from '../src/fleet/artifact-client.js';
import { readPresence } from '../src/fleet/presence.js';
import { logger, type Logger } from '../src/log.js';
import { workerConnection } from '../src/redis/connections.js';
import { trainPyAtCommit, trainPyCodeSha256 } from '../src/train/train-py-code.js';
import type { ExperimentExecutor, ExperimentRequest } from '../src/research/executor.js';
import { describeValueIssues } from '../src/research/hyperparameters.js';
import { sleep, untilAborted } from '../src/abortable.js';
import { experimentIdSchema, sectionValuesSchema, sha256Schema } from './contracts.js';
import { experimentLook } from './experiment-look.js';
import { experimentStages, type ExecutorContext } from './experiment-stages.js';
import { ExperimentStore } from './experiment-state.js';
import { councilDatasetPreparer } from './prepare.js';
import { FleetQueues } from './queues.js';
import { chooseMode } from './routing.js';

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
  const context: ExecutorContext = { config, queues, store, artifacts, now, log };
  const stages = experimentStages(context);
  const { enqueue } = stages;
  const step = experimentLook(context, stages);

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
