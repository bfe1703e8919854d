import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { jobIds } from '../../queues/names.js';
import { parseConfig } from '../../src/config/load.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import { producerConnection } from '../../src/redis/connections.js';
import { writeDataset } from '../support/fleet-harness.js';
import { uniquePrefix } from '../support/redis.js';

const VALUES = { ...baselineValues(['yoda', 'windu']), ITERS: 50, EXPERIMENT_HYPOTHESIS: 'drill' };
const silent = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The real BullMQ executor on the test Redis, with no worker: jobs wait in their queues until removed. */
function setup(clock: { offsetMs: number }): { executor: FleetExecutor; prefix: string; store: ExperimentStore; trainProxy: Queue } {
  const url = inject('redisUrl');
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-wait-'));
  const prefix = uniquePrefix('wait');
  const config = parseConfig(
    JSON.stringify({
      paths: { state: join(root, 'state') },
      redis: { url, embedded: false, prefix },
      models: { proxy: { model: 'tiny', budgetSeconds: 60, graceSeconds: 30 }, full: { model: 'tiny' } },
      run: { evalAllowanceSeconds: 120 },
    }),
    { file: null, baseDir: root, env: {} },
  );
  const executor = createFleetExecutor(config, url, {
    log: silent,
    pollMs: 100,
    now: () => Date.now() + clock.offsetMs,
    prepareDataset: async (request) => ({ dir: writeDataset(join(root, 'datasets', request.experimentId), request.experimentId) }),
  });
  const redis = producerConnection(url);
  const trainProxy = new Queue('train-proxy', { connection: redis, prefix });
  cleanups.push(() => rmSync(root, { recursive: true, force: true }), () => redis.disconnect(), () => executor.close(), () => trainProxy.close());
  return { executor, prefix, store: new ExperimentStore(redis, prefix), trainProxy };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 600; i += 1) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('executor.wait', () => {
  it('a train job removed from Redis is added again once; removed again, the experiment fails instead of waiting forever', async () => {
    const { executor, trainProxy } = setup({ offsetMs: 0 });
    await executor.submit({ experimentId: 'exp-gone', kind: 'experiment', mode: 'proxy', commit: 'abc1234', values: { ...VALUES } });
    const id = jobIds.train('exp-gone', 'proxy');
    const first = await trainProxy.getJob(id);
    expect(first).toBeTruthy();
    // Removed as from the admin board.
    expect(await trainProxy.remove(id)).toBe(1);
    const waiting = executor.wait('exp-gone', {});
    const readded = await until('the job to be added again', () => trainProxy.getJob(id));
    expect(readded.data).toEqual(first!.data);
    expect(await trainProxy.remove(id)).toBe(1);
    const execution = await waiting;
    expect(execution.training).toMatchObject({ status: 'crashed' });
    expect(execution.training!.message).toMatch(/the train job exp-gone-train-proxy disappeared from Redis twice/);
    expect(execution.eval).toBeNull();
    expect(await trainProxy.getJob(id)).toBeUndefined();
  });

  it('past budget + grace (twice: it may be queued behind another of its mode) + eval allowance from its submission, a stuck experiment ends as a timeout', async () => {
    const clock = { offsetMs: 0 };
    const { executor, store, trainProxy } = setup(clock);
    await executor.submit({ experimentId: 'exp-stuck', kind: 'experiment', mode: 'proxy', commit: 'abc1234', values: { ...VALUES } });
    await executor.submit({ experimentId: 'base-stuck', kind: 'baseline', mode: 'proxy', commit: 'abc1234', values: { ...VALUES } });
    expect((await store.read('exp-stuck'))!.submittedAt).toBeTruthy();
    // Nothing consumes the queues; the clock moves past 2 x (60 + 30) + 120 s.
    clock.offsetMs = 301_000;
    const execution = await executor.wait('exp-stuck', {});
    expect(execution.training).toMatchObject({ status: 'timeout' });
    expect(execution.training!.message).toMatch(/no result within 300 s of its submission/);
    // The waiting job is withdrawn, so no worker trains it for nobody later.
    expect(await trainProxy.getJob(jobIds.train('exp-stuck', 'proxy'))).toBeUndefined();
    const baseline = await executor.wait('base-stuck', {});
    expect(baseline.eval).toBeNull();
    expect((await store.read('base-stuck'))!.stage).toBe('done');
  });

  it('within the bound it keeps waiting (a planner restart does not restart the clock)', async () => {
    const clock = { offsetMs: 0 };
    const { executor } = setup(clock);
    await executor.submit({ experimentId: 'exp-slow', kind: 'experiment', mode: 'proxy', commit: 'abc1234', values: { ...VALUES } });
    clock.offsetMs = 200_000;
    const stop = new AbortController();
    const progress: string[] = [];
    const waiting = executor.wait('exp-slow', { signal: stop.signal, onProgress: (p) => progress.push(p.stage) });
    await until('a look at the queue', async () => progress.length > 0);
    stop.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    clock.offsetMs = 301_000;
    expect((await executor.wait('exp-slow', {})).training).toMatchObject({ status: 'timeout' });
  });
});
