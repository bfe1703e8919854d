import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { readPresence } from '../../src/fleet/presence.js';
import { producerConnection } from '../../src/redis/connections.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { jobIds } from '../../queues/names.js';
import { startArtifactServer } from '../support/artifact-server.js';
import { startWorkerProcess, until, writeDataset, writeMachineConfig, type WorkerProcess } from '../support/fleet-harness.js';
import { uniquePrefix } from '../support/redis.js';

const VALUES = { ...baselineValues(['yoda', 'windu']), ITERS: 50, EXPERIMENT_HYPOTHESIS: 'queued behind' };

/**
 * Several in flight queue the next full-mode experiment behind the one the laptop trains. Its pickup deadline
 * (4 s here) must not send it to the Mini while the laptop is busy with the first one: the laptop is awake.
 */
describe('a full-mode job queued behind another on the laptop', () => {
  const url = inject('redisUrl');
  const prefix = uniquePrefix('behind');
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-behind-'));
  const redis = producerConnection(url);
  const store = new ExperimentStore(redis, prefix);
  const running: WorkerProcess[] = [];
  let artifactServer: Awaited<ReturnType<typeof startArtifactServer>>;
  let executor: FleetExecutor;

  beforeAll(async () => {
    const miniState = join(root, 'mini');
    artifactServer = await startArtifactServer({ dir: join(miniState, 'artifacts'), token: 'drill-token', maxUploadBytes: 1 << 30 });
    const miniConfig = writeMachineConfig(root, { machine: 'mini', redisUrl: url, prefix, state: miniState });
    const mbpConfig = writeMachineConfig(root, { machine: 'mbp', redisUrl: url, prefix, state: join(root, 'mbp'), artifactsUrl: artifactServer.url });
    executor = createFleetExecutor(loadConfig({ file: miniConfig }), url, {
      pollMs: 200,
      prepareDataset: async (request) => ({ dir: writeDataset(join(root, 'datasets', request.experimentId), request.experimentId) }),
    });
    running.push(await startWorkerProcess(miniConfig, 'mini', { STEP_TRAINER_MS: '20' }));
    // 50 steps of 150 ms: the first training outlasts the pickup deadline of the one queued behind it.
    running.push(await startWorkerProcess(mbpConfig, 'mbp', { AUTORESEARCH_ARTIFACT_TOKEN: 'drill-token', STEP_TRAINER_MS: '150' }));
    await until('mbp heartbeat', async () => (await readPresence(redis, prefix)).live.some((h) => h.machine === 'mbp'));
  });

  afterAll(async () => {
    for (const w of running) if (w.child.exitCode === null) await w.stop();
    await executor.close();
    await artifactServer.close();
    redis.disconnect();
    rmSync(root, { recursive: true, force: true });
  });

  /** Drives the experiment's record until its training is decided (these drill machines do not evaluate). */
  const trained = (experimentId: string) => {
    const stop = new AbortController();
    executor.wait(experimentId, { signal: stop.signal }).catch(() => undefined);
    return until(`${experimentId} trained`, async () => {
      const record = await store.read(experimentId);
      return record && record.stage !== 'train' && record.stage !== 'enqueueing' ? record : null;
    }, 60_000).finally(() => stop.abort());
  };

  it('waits past the pickup deadline while the laptop trains the first one, then runs on the laptop', async () => {
    const full = new Queue('train-full', { connection: redis, prefix });
    const proxy = new Queue('train-proxy', { connection: redis, prefix });
    const routeQueue = new Queue('route', { connection: redis, prefix });
    try {
      await executor.submit({ experimentId: 'exp-first', kind: 'experiment', mode: 'full', commit: 'abc1234', values: { ...VALUES } });
      await until('the first full job to run', async () => (await full.getJobState(jobIds.train('exp-first', 'full'))) === 'active');
      await executor.submit({ experimentId: 'exp-behind', kind: 'experiment', mode: 'full', commit: 'abc1234', values: { ...VALUES } });
      const [first, behind] = await Promise.all([trained('exp-first'), trained('exp-behind')]);
      for (const record of [first, behind]) {
        expect(record).toMatchObject({ mode: 'full', modeReason: 'requested' });
        expect(record.training).toMatchObject({ status: 'ok', machine: 'mbp' });
      }
      expect(await proxy.getJob(jobIds.train('exp-behind', 'proxy'))).toBeUndefined();
      // The deadline looked while the laptop trained the first one and left this one queued, then let it be.
      const route = await until('the pickup deadline to finish', async () => {
        const job = await routeQueue.getJob(jobIds.route('exp-behind'));
        return job && (await job.getState()) === 'completed' ? job : null;
      });
      expect(route.returnvalue).toMatchObject({ action: 'left' });
      expect(route.attemptsStarted).toBeGreaterThan(1);
    } finally {
      await Promise.all([full.close(), proxy.close(), routeQueue.close()]);
    }
  });
});
