import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readPresence, startHeartbeat } from '../../src/fleet/presence.js';
import { PROJECT_ROOT } from '../../src/project.js';
import type { ExperimentRecord } from '../../queues/experiment-state.js';
import { jobIds } from '../../queues/names.js';
import type { ExperimentRequest } from '../../src/research/executor.js';
import { startDrillFleet, type DrillFleet } from '../support/drill-fleet.js';
import { isAlive, startWorkerProcess, until, type WorkerProcess } from '../support/fleet-harness.js';
import { uniquePrefix } from '../support/redis.js';
import { baselineValues } from '../../src/research/hyperparameters.js';

const BASE_VALUES = { ...baselineValues(['yoda', 'windu']), ITERS: 50, EXPERIMENT_HYPOTHESIS: 'drill' };

describe('fleet routing with real worker processes', () => {
  const url = inject('redisUrl');
  const prefix = uniquePrefix('fleet');
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-fleet-'));
  let redis: DrillFleet['redis'];
  let store: DrillFleet['store'];
  let miniConfigFile: string;
  let mbpConfigFile: string;
  let executor: DrillFleet['executor'];
  let running: WorkerProcess[];
  let trained: DrillFleet['trained'];
  let fleet: DrillFleet;
  let mini: WorkerProcess;

  const submit = async (experimentId: string, extra: Partial<ExperimentRequest> = {}) => {
    await executor.submit({ experimentId, kind: 'experiment', mode: 'auto', commit: 'abc1234', values: { ...BASE_VALUES }, ...extra });
  };

  beforeAll(async () => {
    fleet = await startDrillFleet(url, prefix, root);
    ({ redis, store, executor, running, trained, miniConfig: miniConfigFile, mbpConfig: mbpConfigFile } = fleet);
    mini = await startWorkerProcess(miniConfigFile, 'mini', { STEP_TRAINER_MS: '20' });
    running.push(mini);
  });

  afterAll(() => fleet.close());

  it('runs a full-mode experiment on the laptop while its heartbeat is live', async () => {
    const mbp = await startWorkerProcess(mbpConfigFile, 'mbp', { AUTORESEARCH_ARTIFACT_TOKEN: 'drill-token', STEP_TRAINER_MS: '20' });
    running.push(mbp);
    await until('mbp heartbeat', async () => (await readPresence(redis, prefix)).live.some((h) => h.machine === 'mbp'));

    await submit('exp-full');
    const record = await trained('exp-full');

    expect(record.mode).toBe('full');
    expect(record.modeReason).toBe('full-mode worker mbp is online');
    expect(record.training).toMatchObject({ status: 'ok', machine: 'mbp', iterations: 50 });
    // The adapter went up to the Mini's store and is readable there in place.
    expect(existsSync(join(root, 'mini', 'artifacts', 'bundles', record.adapterSha256!, 'adapters.safetensors'))).toBe(true);

    const stopped = await mbp.stop();
    expect(stopped.exitCode).toBe(0);
    expect(stopped.ms).toBeLessThan(8_000);
    // A clean stop deletes the heartbeat at once, and `status` can say since when the laptop is away.
    const presence = await readPresence(redis, prefix);
    expect(presence.live.map((h) => h.machine)).toEqual(['mini']);
    expect(presence.lastSeen.mbp?.role).toBe('mbp');
  });

  it('runs as proxy when no full-mode worker is online', async () => {
    await submit('exp-away');
    const record = await trained('exp-away');
    expect(record.mode).toBe('proxy');
    expect(record.modeReason).toBe('no full-mode worker online');
    expect(record.training).toMatchObject({ status: 'ok', machine: 'mini' });
  });

  it('submitting the same experiment twice runs it once', async () => {
    await submit('exp-twice', { mode: 'proxy' });
    await submit('exp-twice', { mode: 'proxy' });
    await trained('exp-twice');
    const proxy = new Queue('train-proxy', { connection: redis, prefix });
    const jobs = await proxy.getJobs(['completed', 'active', 'waiting', 'failed']);
    expect(jobs.filter((j) => j.data.experimentId === 'exp-twice')).toHaveLength(1);
  });

  it('falls back to proxy exactly once when the laptop is online but never picks the job up', async () => {
    // The laptop's heartbeat, without its worker consuming: a wedged worker (bullmq#4585) looks like this.
    const laptop = startHeartbeat({ redis, prefix, machine: 'mbp-wedged', role: 'mbp', consumes: ['train-full'], intervalMs: 250, ttlMs: 1_200 });
    await until('wedged heartbeat', async () => (await readPresence(redis, prefix)).live.some((h) => h.machine === 'mbp-wedged'));
    await submit('exp-deadline');
    expect((await store.read('exp-deadline'))!.mode).toBe('full');

    const record = await trained('exp-deadline');
    await laptop.stop();

    expect(record.mode).toBe('proxy');
    expect(record.modeReason).toBe('full job not picked up within 4 s');
    expect(record.training).toMatchObject({ status: 'ok', machine: 'mini' });
    const full = new Queue('train-full', { connection: redis, prefix });
    const proxy = new Queue('train-proxy', { connection: redis, prefix });
    expect(await full.getJobState(jobIds.train('exp-deadline', 'full'))).toBe('unknown');
    const proxyJobs = (await proxy.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed'])).filter(
      (j) => j.data.experimentId === 'exp-deadline',
    );
    expect(proxyJobs).toHaveLength(1);
    expect(proxyJobs[0]!.attemptsStarted).toBe(1);
    const route = await new Queue('route', { connection: redis, prefix }).getJob(jobIds.route('exp-deadline'));
    expect(route!.returnvalue).toMatchObject({ action: 'rerouted' });
  });

  it('a laptop that sleeps past its lock: the job is rerouted, its stale trainer is cancelled, and one result stands', async () => {
    const mbp = await startWorkerProcess(mbpConfigFile, 'mbp', { AUTORESEARCH_ARTIFACT_TOKEN: 'drill-token', STEP_TRAINER_MS: '300' });
    running.push(mbp);
    await until('mbp heartbeat', async () => (await readPresence(redis, prefix)).live.some((h) => h.machine === 'mbp'));
    await submit('exp-sleep');
    const fullId = jobIds.train('exp-sleep', 'full');
    const runsDir = join(root, 'mbp', 'runs', fullId);
    const pidFile = await until('the laptop trainer to start', async () => {
      if (!existsSync(runsDir)) return null;
      const attempt = readdirSync(runsDir)[0];
      const file = attempt && join(runsDir, attempt, 'trainer.pid');
      return file && existsSync(file) ? file : null;
    });
    const trainerPid = Number(readFileSync(pidFile, 'utf8'));

    process.kill(mbp.pid, 'SIGSTOP');
    let record: ExperimentRecord;
    try {
      record = await trained('exp-sleep');
      expect(isAlive(trainerPid)).toBe(true);
    } finally {
      process.kill(mbp.pid, 'SIGCONT');
    }

    expect(record.mode).toBe('proxy');
    expect(record.training).toMatchObject({ status: 'ok', machine: 'mini' });
    // On waking, the lock renewal fails and the stale trainer is killed long before its 15 s run would end.
    await until('the stale trainer to be gone', async () => !isAlive(trainerPid), 8_000);
    expect(existsSync(join(pidFile, '..', 'adapter'))).toBe(false);
    await until('the laptop to log the lost lock', async () => mbp.output().includes('lost the job lock'), 5_000);
    const full = new Queue('train-full', { connection: redis, prefix });
    expect(await full.getJobCounts('completed', 'active', 'waiting')).toEqual({ completed: 1, active: 0, waiting: 0 });
    expect((await store.read('exp-sleep'))!.training!.machine).toBe('mini');
    await mbp.stop();
  });

  it('a laptop whose token the store refuses does not start: no heartbeat, and the error says how to fix it', async () => {
    const cases = [
      [{ AUTORESEARCH_ARTIFACT_TOKEN: 'wrong-token' }, 'refused AUTORESEARCH_ARTIFACT_TOKEN'],
      [{ AUTORESEARCH_ARTIFACT_TOKEN: '' }, 'needs AUTORESEARCH_ARTIFACT_TOKEN, which is not set'],
    ] as const;
    for (const [env, expected] of cases) {
      const result = await execa(process.execPath, [join(PROJECT_ROOT, 'bin/autoresearch.js'), '-c', mbpConfigFile, 'worker', '--role', 'mbp'], {
        cwd: PROJECT_ROOT,
        env: { ...env, AUTORESEARCH_LOG_LEVEL: 'info', AUTORESEARCH_LOG_FORMAT: 'json', VITEST: '' },
        reject: false,
        timeout: 60_000,
      });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(expected);
      expect(result.stderr).toContain('~/.config/autoresearch/env');
      expect(result.stderr).not.toContain('worker ready');
    }
    expect((await readPresence(redis, prefix)).live.map((h) => h.machine)).toEqual(['mini']);
  });

  it('a laptop whose token stops working hands its job back, drops its heartbeat and exits; the job runs on the Mini', async () => {
    const mbp = await startWorkerProcess(mbpConfigFile, 'mbp', { AUTORESEARCH_ARTIFACT_TOKEN: 'drill-token', STEP_TRAINER_MS: '20' });
    running.push(mbp);
    await until('mbp heartbeat', async () => (await readPresence(redis, prefix)).live.some((h) => h.machine === 'mbp'));
    // The Mini's token is rotated while the laptop runs.
    await fleet.rotateArtifactToken('rotated-token');

    await submit('exp-rotated');
    expect((await store.read('exp-rotated'))!.mode).toBe('full');
    await until('the laptop worker to exit', async () => mbp.child.exitCode !== null, 30_000);

    expect(mbp.child.exitCode).not.toBe(0);
    expect(mbp.output()).toContain('the artifact store refuses this machine: handing the job back and stopping');
    expect((await readPresence(redis, prefix)).live.map((h) => h.machine)).toEqual(['mini']);
    const record = await trained('exp-rotated');
    expect(record).toMatchObject({ mode: 'proxy', modeReason: 'full job not picked up within 4 s' });
    expect(record.training).toMatchObject({ status: 'ok', machine: 'mini' });
  });
});
