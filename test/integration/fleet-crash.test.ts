import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { execa } from 'execa';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { producerConnection } from '../../src/redis/connections.js';
import { startRedisServer } from '../../src/redis/server-process.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { jobIds } from '../../queues/names.js';
import { childRegistryDir } from '../../src/proc/child-registry.js';
import { processStartTime } from '../../src/proc/identity.js';
import { ensureTinyModel } from '../../src/train/tiny-model.js';
import { writeSection } from '../../src/research/section.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';
import { isAlive, startWorkerProcess, until, writeDataset, writeMachineConfig, type WorkerProcess } from '../support/fleet-harness.js';
import { freePort } from '../../src/net/free-port.js';
import { uniquePrefix } from '../support/redis.js';
import { baselineValues } from '../../src/research/hyperparameters.js';

const IDLE_CTL = join(PROJECT_ROOT, 'test/support/idle-ctl.mjs');

describe('fleet crashes, shutdowns and outages', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function machine(
    redisUrl: string,
    idle?: { dir: string; port: number },
    extra: { fleet?: Record<string, unknown>; sections?: Record<string, unknown> } = {},
  ) {
    const root = mkdtempSync(join(tmpdir(), 'autoresearch-crash-'));
    const prefix = uniquePrefix('crash');
    const file = writeMachineConfig(root, {
      machine: 'mini',
      redisUrl,
      prefix,
      state: join(root, 'state'),
      ...extra,
      ...(idle
        ? {
            idleServer: {
              enabled: true,
              stop: [process.execPath, IDLE_CTL, 'stop', idle.dir],
              start: [process.execPath, IDLE_CTL, 'start', idle.dir, String(idle.port)],
              healthUrl: `http://127.0.0.1:${idle.port}/health`,
              healthTimeoutMs: 10_000,
              restoreDelayMs: 200,
              // Equal to morningDeadline: no daytime pause, so the drills run whatever the time of day.
              nightStart: '07:00',
            },
          }
        : {}),
    });
    const redis = producerConnection(redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    const executor: FleetExecutor = createFleetExecutor(loadConfig({ file }), redisUrl, {
      pollMs: 200,
      prepareDataset: async (request) => ({ dir: writeDataset(join(root, 'datasets', request.experimentId), request.experimentId) }),
    });
    const store = new ExperimentStore(redis, prefix);
    const workers: WorkerProcess[] = [];
    cleanups.push(async () => {
      for (const w of workers) if (w.child.exitCode === null && isAlive(w.pid)) await w.stop();
      await executor.close();
      redis.disconnect();
      rmSync(root, { recursive: true, force: true });
    });
    const submit = (experimentId: string) =>
      executor.submit({ experimentId, kind: 'experiment', mode: 'proxy', commit: 'abc1234', values: { ...baselineValues(['yoda', 'windu']), ITERS: 50 } });
    const trained = (experimentId: string, timeoutMs = 60_000) => {
      const stop = new AbortController();
      executor.wait(experimentId, { signal: stop.signal }).catch(() => undefined);
      return until(`${experimentId} trained`, async () => {
        const record = await store.read(experimentId);
        return record && (record.stage === 'eval' || record.stage === 'done') ? record : null;
      }, timeoutMs).finally(() => stop.abort());
    };
    const start = async (stepMs: number) => {
      const w = await startWorkerProcess(file, 'mini', { STEP_TRAINER_MS: String(stepMs) });
      workers.push(w);
      return w;
    };
    const trainerPid = (experimentId: string) =>
      until('the trainer to start', async () => {
        const dir = join(root, 'state', 'runs', jobIds.train(experimentId, 'proxy'));
        if (!existsSync(dir)) return null;
        for (const attempt of readdirSync(dir)) {
          const file = join(dir, attempt, 'trainer.pid');
          if (existsSync(file)) return Number(readFileSync(file, 'utf8'));
        }
        return null;
      });
    const proxy = new Queue('train-proxy', { connection: redis, prefix });
    proxy.on('error', () => undefined);
    return { root, prefix, redis, executor, store, submit, trained, start, trainerPid, proxy };
  }

  async function idleServer() {
    const dir = mkdtempSync(join(tmpdir(), 'autoresearch-idle-'));
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const healthy = async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) })).ok;
      } catch {
        return false;
      }
    };
    await execa(process.execPath, [IDLE_CTL, 'start', dir, String(port)]);
    await until('the idle server to answer', healthy);
    cleanups.push(async () => {
      await execa(process.execPath, [IDLE_CTL, 'stop', dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    const events = () => readFileSync(join(dir, 'events.log'), 'utf8').trim().split('\n');
    return { dir, port, healthy, events };
  }

  it('kill -9 mid-job: the next worker start restores the idle server, and the job is retried to completion', async () => {
    const idle = await idleServer();
    const m = await machine(inject('redisUrl'), idle);
    const first = await m.start(100);
    await m.submit('exp-kill');
    const stalePid = await m.trainerPid('exp-kill');
    expect(await idle.healthy()).toBe(false);

    process.kill(first.pid, 'SIGKILL');
    await first.child;
    cleanups.push(() => isAlive(stalePid) && process.kill(stalePid, 'SIGKILL'));
    const restarted = Date.now();
    await m.start(20);
    await until('the idle server to be restored', idle.healthy, 15_000, 50);
    const restoredMs = Date.now() - restarted;

    const record = await m.trained('exp-kill');
    expect(record.training).toMatchObject({ status: 'ok', machine: 'mini', iterations: 50 });
    const job = await m.proxy.getJob(jobIds.train('exp-kill', 'proxy'));
    expect(job!.attemptsStarted).toBe(2);
    await until('the idle server to be up after the retried job', idle.healthy, 15_000);
    expect(idle.events()).toEqual(['start', 'stop', 'start', 'stop', 'start']);
    expect(restoredMs).toBeLessThan(15_000);
  });

  it('SIGTERM mid-job: the trainer is stopped, the job goes back to waiting without spending an attempt, the idle server is back', async () => {
    const idle = await idleServer();
    const m = await machine(inject('redisUrl'), idle);
    const w = await m.start(200);
    await m.submit('exp-term');
    const trainer = await m.trainerPid('exp-term');

    const stopped = await w.stop();

    expect(stopped.exitCode).toBe(0);
    expect(stopped.ms).toBeLessThan(8_000);
    expect(isAlive(trainer)).toBe(false);
    expect(await idle.healthy()).toBe(true);
    const job = await m.proxy.getJob(jobIds.train('exp-term', 'proxy'));
    expect(await job!.getState()).toBe('waiting');
    expect(job!.attemptsMade).toBe(0);

    await m.start(20);
    const record = await m.trained('exp-term');
    expect(record.training).toMatchObject({ status: 'ok' });
  });

  it('Redis down for 30 s and back (AOF): no job is lost and the worker consumes again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-outage-'));
    const port = await freePort();
    let server = await startRedisServer({ port, dataDir });
    cleanups.push(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const m = await machine(server.url);
    await m.start(100);
    await m.submit('exp-before');
    await m.trained('exp-before');

    await m.submit('exp-during');
    await m.trainerPid('exp-during');
    await server.stop();
    await new Promise((r) => setTimeout(r, 30_000));
    server = await startRedisServer({ port, dataDir });

    const during = await m.trained('exp-during', 90_000);
    expect(during.training).toMatchObject({ status: 'ok' });
    await m.submit('exp-after');
    const after = await m.trained('exp-after', 60_000);
    expect(after.training).toMatchObject({ status: 'ok' });
  }, 240_000);

  it('kill -9 during evaluation: the next worker start stops the orphaned mlx_lm.server, and the eval is recorded once', async () => {
    const model = (await ensureTinyModel({ councilDir: join(PROJECT_ROOT, 'council'), stateDir: join(PROJECT_ROOT, '.autoresearch') })).modelDir;
    const m = await machine(inject('redisUrl'), undefined, {
      fleet: { roles: { mini: { consumes: ['eval'], stalledCheck: [] } } },
      sections: {
        council: { dir: join(PROJECT_ROOT, 'council') },
        models: { proxy: { model }, full: { model } },
        eval: { maxTokens: 8, concurrency: 2, serverStartTimeoutMs: 120_000, requestTimeoutMs: 60_000 },
      },
    });
    const first = await m.start(20);
    await m.executor.submit({ experimentId: 'exp-eval-kill', kind: 'baseline', mode: 'proxy', commit: 'abc1234', values: { ...baselineValues(['yoda']) }, championAdapterSha256: null });
    const children = childRegistryDir(join(m.root, 'state'));
    const server = await until('mlx_lm.server to be written down', async () => {
      if (!existsSync(children)) return null;
      for (const name of readdirSync(children)) {
        const entry = JSON.parse(readFileSync(join(children, name), 'utf8')) as { kind: string; child: { pid: number; start: string } };
        if (entry.kind === 'mlx_lm.server') return entry.child;
      }
      return null;
    }, 60_000);
    // Killed while cases are being answered, so the server is up and serving, not still being spawned.
    const evalJobs = new Queue('eval', { connection: m.redis, prefix: m.prefix });
    evalJobs.on('error', () => undefined);
    await until('the evaluation to answer its first case', async () => {
      const progress = (await evalJobs.getJob(jobIds.eval('exp-eval-kill')))?.progress;
      return typeof progress === 'object' && progress !== null && Number((progress as { done?: unknown }).done) > 0;
    }, 120_000);

    process.kill(first.pid, 'SIGKILL');
    await first.child;
    cleanups.push(() => isAlive(server.pid) && process.kill(server.pid, 'SIGKILL'));
    expect(await processStartTime(server.pid)).toBe(server.start);

    const second = await m.start(20);
    expect(await processStartTime(server.pid), second.output().slice(-3000)).not.toBe(server.start);
    expect(second.output()).toContain('stopped a process left running by a worker that is gone');
    const execution = await m.executor.wait('exp-eval-kill', {});
    expect(execution.eval!.nCases).toBeGreaterThan(0);
    const evalQueue = new Queue('eval', { connection: m.redis, prefix: m.prefix });
    evalQueue.on('error', () => undefined);
    const job = await evalQueue.getJob(jobIds.eval('exp-eval-kill'));
    expect(job!.attemptsStarted).toBe(2);
    expect(await evalQueue.getCompletedCount()).toBe(1);
    expect(readdirSync(children)).toEqual([]);
    await evalQueue.close();
  }, 300_000);

  it('Redis down as training ends: the refused result is published on the retry, not trained again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-refused-'));
    const port = await freePort();
    let server = await startRedisServer({ port, dataDir });
    cleanups.push(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const m = await machine(server.url);
    const worker = await m.start(60);
    await m.submit('exp-refused');
    await m.trainerPid('exp-refused');
    await server.stop();
    const runs = join(m.root, 'state', 'runs', jobIds.train('exp-refused', 'proxy'));
    const attempts = () => readdirSync(runs).filter((a) => existsSync(join(runs, a, 'trainer.pid')));
    await until('the training to end during the outage', async () => attempts().some((a) => existsSync(join(runs, a, 'adapter', 'adapter_config.json'))), 60_000);
    // Longer than the lock (fleet.lock.durationMs 2 s): when Redis is back, the lock has expired.
    await new Promise((r) => setTimeout(r, 6_000));
    server = await startRedisServer({ port, dataDir });

    const record = await m.trained('exp-refused', 90_000);
    expect(record.training).toMatchObject({ status: 'ok', iterations: 50 });
    const job = await m.proxy.getJob(jobIds.train('exp-refused', 'proxy'));
    expect(job!.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(attempts()).toHaveLength(1);
    expect(worker.output()).toContain('this job was already trained here and its result refused: publishing that adapter, not retraining');
  }, 240_000);

  it("a worker whose train.py is not the experiment commit's refuses the job and says to git pull; a matching one trains", async () => {
    const ours = readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8');
    // The planner's repository: the experiment's commit has a newer trainer than this worker's checkout.
    const repo = tempRepo({ 'python/train.py': `${ours}\n# a change to the trainer the worker has not pulled\n` });
    cleanups.push(() => rmSync(repo, { recursive: true, force: true }));
    const newer = gitIn(repo, 'rev-parse', 'HEAD').trim();
    const root = mkdtempSync(join(tmpdir(), 'autoresearch-code-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const m = await machine(inject('redisUrl'), undefined, { sections: { paths: { state: join(root, 'state'), repo } } });
    const worker = await m.start(20);
    const values = { ...baselineValues(['yoda', 'windu']), ITERS: 50 };

    await m.executor.submit({ experimentId: 'exp-stale-code', kind: 'experiment', mode: 'proxy', commit: newer, values });
    const refused = await m.trained('exp-stale-code');

    expect(refused.training!.status).toBe('crashed');
    expect(refused.training!.message).toContain(`is not the code of the experiment's commit ${newer.slice(0, 12)}`);
    expect(refused.training!.message).toContain('git pull');
    expect(existsSync(join(root, 'state', 'runs', jobIds.train('exp-stale-code', 'proxy')))).toBe(false);
    expect(worker.output()).toContain('AGENT MODIFIABLE section), so this machine would train something else');

    // Same code, another section: what a planner's experiment commit looks like.
    writeFileSync(join(repo, 'python', 'train.py'), writeSection(ours, { ...values, LEARNING_RATE: 2e-5 }));
    gitIn(repo, 'commit', '-q', '-am', 'experiment: a higher learning rate');
    const matching = gitIn(repo, 'rev-parse', 'HEAD').trim();
    await m.executor.submit({ experimentId: 'exp-same-code', kind: 'experiment', mode: 'proxy', commit: matching, values: { ...values, LEARNING_RATE: 2e-5 } });
    const trained = await m.trained('exp-same-code');
    expect(trained.training).toMatchObject({ status: 'ok', iterations: 50 });
  });
});
