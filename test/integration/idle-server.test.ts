import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { execa } from 'execa';
import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { idleServerSection } from '../../src/config/sections/idle-server.js';
import { loadConfig } from '../../src/config/load.js';
import { GpuLease } from '../../src/fleet/gpu-lease.js';
import { IdleServer } from '../../src/fleet/idle-server.js';
import { freePort } from '../../src/net/free-port.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { producerConnection } from '../../src/redis/connections.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import { createFleetExecutor } from '../../queues/executor.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { jobIds } from '../../queues/names.js';
import { isAlive, startWorkerProcess, until, writeDataset, writeMachineConfig, type WorkerProcess } from '../support/fleet-harness.js';
import { uniquePrefix } from '../support/redis.js';

const IDLE_CTL = join(PROJECT_ROOT, 'test/support/idle-ctl.mjs');

function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, messages: () => lines.map((l) => String(l.msg)) };
}

/** "HH:MM" of the first whole minute at least `leadMs` from now, and that Date. */
function minuteAfter(leadMs: number, from = new Date()): { clock: string; at: Date } {
  const at = new Date(from.getTime() + leadMs);
  if (at.getSeconds() !== 0 || at.getMilliseconds() !== 0) at.setMinutes(at.getMinutes() + 1, 0, 0);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { clock: `${pad(at.getHours())}:${pad(at.getMinutes())}`, at };
}

describe('the idle model server around GPU work', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  /** A real "idle server" driven by test/support/idle-ctl.mjs, as launchctl would drive the real one. */
  async function idleServer(startCommand: 'start' | 'fail' = 'start') {
    const dir = mkdtempSync(join(tmpdir(), 'autoresearch-idle-'));
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
    const settings = {
      enabled: true,
      stop: [process.execPath, IDLE_CTL, 'stop', dir],
      start: [process.execPath, IDLE_CTL, startCommand, dir, String(port)],
      healthUrl: `http://127.0.0.1:${port}/health`,
      healthTimeoutMs: 1_500,
      restoreDelayMs: 0,
    };
    const events = () => readFileSync(join(dir, 'events.log'), 'utf8').trim().split('\n');
    const kill = () => execa(process.execPath, [IDLE_CTL, 'stop', dir]);
    return { dir, port, healthy, events, kill, settings };
  }

  function lease(settings: Record<string, unknown>, log: pino.Logger, watchIntervalMs = 0) {
    const state = mkdtempSync(join(tmpdir(), 'autoresearch-lease-'));
    cleanups.push(() => rmSync(state, { recursive: true, force: true }));
    const idle = new IdleServer(idleServerSection.parse(settings), state, log);
    const gpu = new GpuLease({ stateDir: state, idleServer: idle, restoreDelayMs: 0, log, pollMs: 50, watchIntervalMs });
    cleanups.push(() => gpu.close());
    return Object.assign(gpu, { state });
  }

  it('a restore that fails is logged and does not fail the next GPU job', async () => {
    const idle = await idleServer('fail');
    const { log, messages } = recordingLogger();
    const gpu = lease(idle.settings, log);

    await gpu.run('train-proxy:first', async () => undefined);
    await until('the restore to be attempted', async () => idle.events().includes('fail'));
    const second = await gpu.run('eval:second', async () => 'evaluated');

    expect(second).toBe('evaluated');
    await until('the failed restore to be logged', async () => messages().includes('could not restore the idle model server'));
  });

  it('after a reboot, a stale GPU lock whose pid names another live process does not keep the idle server down', async () => {
    const idle = await idleServer();
    const { log } = recordingLogger();
    const gpu = lease(idle.settings, log);
    // What the crashed worker left: the server stopped, its marker, and its lock; its pid now runs something else.
    await idle.kill();
    const reused = execa('sleep', ['60'], { reject: false });
    cleanups.push(() => reused.kill('SIGKILL'));
    writeFileSync(join(gpu.state, 'idle-server.stopped'), '{}\n');
    writeFileSync(
      join(gpu.state, 'gpu.lock'),
      JSON.stringify({ pid: reused.pid, start: 'the previous boot:42', label: 'train-full:x', since: '2026-01-01T00:00:00.000Z', nonce: 'before0-reboot' }),
    );

    await gpu.recoverAfterCrash();

    expect(await idle.healthy()).toBe(true);
    expect(existsSync(join(gpu.state, 'idle-server.stopped'))).toBe(false);
  });

  it('the watchdog starts an idle server that died while the GPU is free, and leaves it down while a job runs', async () => {
    const idle = await idleServer();
    const { log, messages } = recordingLogger();
    const gpu = lease(idle.settings, log, 200);
    gpu.startWatchdog();

    let upDuringJob = true;
    await gpu.run('train-proxy:watched', async () => {
      // Several watchdog intervals pass while the job holds the GPU.
      await new Promise((r) => setTimeout(r, 1_000));
      upDuringJob = await idle.healthy();
    });
    expect(upDuringJob).toBe(false);
    await until('the idle server to be restored after the job', idle.healthy, 15_000);
    // The restore answers health before the lease has finished with it; a kill inside that window is the
    // restore's to handle, not the watchdog's. Three watchdog intervals let the lease settle first.
    await new Promise((r) => setTimeout(r, 600));

    await idle.kill();
    expect(await idle.healthy()).toBe(false);
    await until('the watchdog to restart the idle server', idle.healthy, 15_000);
    expect(messages()).toContain('the idle model server stopped answering while the GPU is free: starting it again');
    expect(idle.events()).toEqual(['start', 'stop', 'start', 'stop', 'start']);
  });

  it('morning deadline: the idle server starts only after the trainer has exited, and GPU jobs wait until nightStart', async () => {
    const idle = await idleServer();
    const root = mkdtempSync(join(tmpdir(), 'autoresearch-morning-'));
    const prefix = uniquePrefix('morning');
    const url = inject('redisUrl');
    const morning = minuteAfter(20_000);
    const night = minuteAfter(60_000, morning.at);
    const file = writeMachineConfig(root, {
      machine: 'mini',
      redisUrl: url,
      prefix,
      state: join(root, 'state'),
      idleServer: { ...idle.settings, healthTimeoutMs: 10_000, restoreDelayMs: 200, morningDeadline: morning.clock, nightStart: night.clock },
    });
    const redis = producerConnection(url, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    const executor = createFleetExecutor(loadConfig({ file }), url, {
      pollMs: 200,
      prepareDataset: async (request) => ({ dir: writeDataset(join(root, 'datasets', request.experimentId), request.experimentId) }),
    });
    const proxy = new Queue('train-proxy', { connection: redis, prefix });
    proxy.on('error', () => undefined);
    const workers: WorkerProcess[] = [];
    cleanups.push(async () => {
      for (const w of workers) if (w.child.exitCode === null && isAlive(w.pid)) await w.stop();
      await proxy.close();
      await executor.close();
      redis.disconnect();
      rmSync(root, { recursive: true, force: true });
    });
    const store = new ExperimentStore(redis, prefix);
    const submit = (experimentId: string, iters: number) =>
      executor.submit({ experimentId, kind: 'experiment', mode: 'proxy', commit: 'abc1234', values: { ...baselineValues(['yoda']), ITERS: iters } });
    const settled = (experimentId: string, timeoutMs: number) => {
      const stop = new AbortController();
      executor.wait(experimentId, { signal: stop.signal }).catch(() => undefined);
      return until(`${experimentId} trained`, async () => {
        const record = await store.read(experimentId);
        return record && (record.stage === 'eval' || record.stage === 'done') ? record : null;
      }, timeoutMs).finally(() => stop.abort());
    };
    // Steps of 100 ms: the job runs past the deadline; after SIGTERM the trainer takes 1.5 s to exit.
    workers.push(
      await startWorkerProcess(file, 'mini', { STEP_TRAINER_MS: '100', STEP_TRAINER_TERM_MS: '1500', STEP_TRAINER_EVENTS: join(idle.dir, 'events.log') }),
    );

    await submit('exp-night', 1_200);
    const cancelled = await settled('exp-night', 120_000);
    expect(cancelled.training).toMatchObject({ status: 'canceled' });
    await until('the idle server to be restored', idle.healthy, 15_000);
    expect(idle.events()).toEqual(['start', 'stop', 'trainer-exit', 'start']);

    await submit('exp-day', 50);
    const dayJob = jobIds.train('exp-day', 'proxy');
    await until('the daytime job to be delayed', async () => (await (await proxy.getJob(dayJob))?.getState()) === 'delayed', 30_000);
    expect(Date.now()).toBeLessThan(night.at.getTime());
    expect(await idle.healthy()).toBe(true);

    const ran = await settled('exp-day', night.at.getTime() - Date.now() + 60_000);
    expect(ran.training).toMatchObject({ status: 'ok' });
    expect(Date.now()).toBeGreaterThanOrEqual(night.at.getTime());
    // Delayed once without spending an attempt, then run once.
    expect((await proxy.getJob(dayJob))!.attemptsMade).toBe(1);
    expect(existsSync(join(root, 'state', 'gpu.lock'))).toBe(false);
  }, 240_000);
});
