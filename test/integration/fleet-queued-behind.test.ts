import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readPresence } from '../../src/fleet/presence.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import { jobIds } from '../../queues/names.js';
import { startDrillFleet, type DrillFleet } from '../support/drill-fleet.js';
import { startWorkerProcess, until } from '../support/fleet-harness.js';
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
  let fleet: DrillFleet;

  beforeAll(async () => {
    fleet = await startDrillFleet(url, prefix, root);
    fleet.running.push(await startWorkerProcess(fleet.miniConfig, 'mini', { STEP_TRAINER_MS: '20' }));
    // 50 steps of 150 ms: the first training outlasts the pickup deadline of the one queued behind it.
    fleet.running.push(await startWorkerProcess(fleet.mbpConfig, 'mbp', { AUTORESEARCH_ARTIFACT_TOKEN: 'drill-token', STEP_TRAINER_MS: '150' }));
    await until('mbp heartbeat', async () => (await readPresence(fleet.redis, prefix)).live.some((h) => h.machine === 'mbp'));
  });

  afterAll(() => fleet.close());

  it('waits past the pickup deadline while the laptop trains the first one, then runs on the laptop', async () => {
    const full = new Queue('train-full', { connection: fleet.redis, prefix });
    const proxy = new Queue('train-proxy', { connection: fleet.redis, prefix });
    const routeQueue = new Queue('route', { connection: fleet.redis, prefix });
    try {
      await fleet.executor.submit({ experimentId: 'exp-first', kind: 'experiment', mode: 'full', commit: 'abc1234', values: { ...VALUES } });
      await until('the first full job to run', async () => (await full.getJobState(jobIds.train('exp-first', 'full'))) === 'active');
      await fleet.executor.submit({ experimentId: 'exp-behind', kind: 'experiment', mode: 'full', commit: 'abc1234', values: { ...VALUES } });
      const [first, behind] = await Promise.all([fleet.trained('exp-first'), fleet.trained('exp-behind')]);
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
