import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { readPresence } from '../../src/fleet/presence.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { producerConnection } from '../../src/redis/connections.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import type { ExperimentExecution, ExperimentProgress } from '../../src/research/executor.js';
import { ensureTinyModel } from '../../src/train/tiny-model.js';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { startArtifactServer } from '../support/artifact-server.js';
import { startCliWorker, until, writeMachineConfig, type WorkerProcess } from '../support/fleet-harness.js';
import { uniquePrefix } from '../support/redis.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];

/**
 * The fleet as it runs at night, on one machine: a Mini worker and a laptop worker started through the CLI,
 * each with its own state folder (the laptop reaches the Mini's artifact store over HTTP), and the planner's
 * executor preparing the data and submitting one proxy and one full experiment. Real prepare.py, real train.py
 * on the tiny model, real evaluation through mlx_lm.server.
 */
describe('two machines train and evaluate on the tiny model', () => {
  const url = inject('redisUrl');
  const prefix = uniquePrefix('tiny');
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-tiny-fleet-'));
  const redis = producerConnection(url);
  const workers: WorkerProcess[] = [];
  let executor: FleetExecutor;
  let artifactServer: Awaited<ReturnType<typeof startArtifactServer>>;
  let miniFile: string;

  beforeAll(async () => {
    const model = (await ensureTinyModel({ councilDir: join(PROJECT_ROOT, 'council'), stateDir: join(PROJECT_ROOT, '.autoresearch') })).modelDir;
    const sections = {
      council: { dir: join(PROJECT_ROOT, 'council') },
      models: {
        proxy: { model, budgetSeconds: 20, graceSeconds: 120 },
        full: { model, budgetSeconds: 20, graceSeconds: 120 },
        training: { batchSize: 1 },
      },
      eval: { maxTokens: 12, concurrency: 2, serverStartTimeoutMs: 120_000, requestTimeoutMs: 60_000 },
    };
    const fleet = { roles: { mini: { consumes: ['train-proxy', 'eval', 'route'], stalledCheck: ['train-full'] }, mbp: { consumes: ['train-full'], stalledCheck: [] } }, pickupDeadlineMs: 600_000 };
    artifactServer = await startArtifactServer({ dir: join(root, 'mini', 'artifacts'), token: 'tiny-token', maxUploadBytes: 1 << 30 });
    miniFile = writeMachineConfig(root, { machine: 'mini', redisUrl: url, prefix, state: join(root, 'mini'), fleet, sections });
    const mbpFile = writeMachineConfig(root, {
      machine: 'mbp',
      redisUrl: url,
      prefix,
      state: join(root, 'mbp'),
      artifactsUrl: artifactServer.url,
      fleet: { ...fleet, lock: { durationMs: 30_000, stalledIntervalMs: 10_000, maxStalledCount: 3, maxStartedAttempts: 8 } },
      sections,
    });
    workers.push(await startCliWorker(miniFile, 'mini'));
    workers.push(await startCliWorker(mbpFile, 'mbp', { AUTORESEARCH_ARTIFACT_TOKEN: 'tiny-token' }));
    executor = createFleetExecutor(loadConfig({ file: miniFile }), url, { pollMs: 500 });
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) await w.stop();
    await executor?.close();
    await artifactServer?.close();
    redis.disconnect();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs a proxy and a full experiment to a scored result, and status shows both machines', async () => {
    const values = { ...baselineValues(AGENTS), ITERS: 50, GRAD_ACCUM: 2, LEARNING_RATE: 1e-4 };
    const explain = (error: Error): never => {
      throw new Error(`${error.message}\n${workers.map((w) => w.output().slice(-4000)).join('\n---\n')}`);
    };
    // One after the other: both "machines" share this host's two cores, and two MLX trainers at once would
    // measure the host, not the fleet.
    await executor.submit({ experimentId: 'tiny-proxy', kind: 'experiment', mode: 'proxy', commit: 'abc1234', values });
    expect((await executor.pending()).map((r) => r.experimentId)).toEqual(['tiny-proxy']);
    const progress: ExperimentProgress[] = [];
    const proxy: ExperimentExecution = await executor
      .wait('tiny-proxy', { onProgress: (p) => progress.push(p) })
      .catch(explain);
    await executor.submit({ experimentId: 'tiny-full', kind: 'experiment', mode: 'auto', commit: 'abc1234', values });
    const full: ExperimentExecution = await executor.wait('tiny-full', {}).catch(explain);

    expect(proxy).toMatchObject({ mode: 'proxy', modeReason: 'requested' });
    expect(full).toMatchObject({ mode: 'full', modeReason: 'full-mode worker mbp is online' });
    for (const [execution, machine] of [[proxy, 'mini'], [full, 'mbp']] as const) {
      expect(['ok', 'budget'], execution.training?.message).toContain(execution.training!.status);
      expect(execution.training!.machine).toBe(machine);
      expect(execution.training!.iterations).toBeGreaterThan(0);
      expect(execution.adapterSha256).toBe(execution.training!.adapterSha256);
      expect(existsSync(join(execution.adapterPath!, 'adapters.safetensors'))).toBe(true);
      expect(execution.eval!.adapterSha256).toBe(execution.adapterSha256);
      expect(execution.eval!.nCases).toBeGreaterThan(0);
      expect(existsSync(join(execution.evalRunDir!, 'summary.json'))).toBe(true);
    }
    expect(progress.some((p) => p.stage === 'train' && p.machine === 'mini')).toBe(true);
    // The bars end where the work ended, not at the last throttled update the executor happened to poll.
    const lastDetail = (stage: ExperimentProgress['stage']) => progress.filter((p) => p.stage === stage).at(-1)?.detail;
    expect(lastDetail('train')).toMatchObject({ iteration: proxy.training!.iterations, etaSeconds: 0 });
    expect(lastDetail('eval')).toMatchObject({ done: proxy.eval!.nCases, total: proxy.eval!.nCases });

    const status = await execa(process.execPath, [join(PROJECT_ROOT, 'bin/autoresearch.js'), '-c', miniFile, 'status', '--json']);
    const view = JSON.parse(status.stdout) as { machines: Array<{ machine: string; state: string }>; queues: Array<{ queue: string; completed: number }> };
    expect(view.machines.map((m) => [m.machine, m.state])).toEqual([
      ['mbp', 'online'],
      ['mini', 'online'],
    ]);
    expect(view.queues.find((q) => q.queue === 'eval')!.completed).toBe(2);
    expect((await readPresence(redis, prefix)).live).toHaveLength(2);

    await executor.settle('tiny-proxy');
    await executor.settle('tiny-full');
    expect(await executor.pending()).toEqual([]);
  }, 600_000);
});
