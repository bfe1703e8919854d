import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionUrl } from '../../ops/redis/url.js';
import { writeLanSetup, type LanSetup } from '../../ops/redis/setup.js';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { loadConfig } from '../../src/config/load.js';
import { freePort } from '../../src/net/free-port.js';
import { readPresence } from '../../src/fleet/presence.js';
import { probeRedis, producerConnection } from '../../src/redis/connections.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import { startArtifactServer } from '../support/artifact-server.js';
import { startWorkerProcess, until, writeDataset, writeMachineConfig, type WorkerProcess } from '../support/fleet-harness.js';

/**
 * The fleet on the Redis that `redis setup` writes, each machine with its own ACL user: the planner and the
 * Mini's worker as `autoresearch`, the laptop's worker as `autoresearch-mbp` with only the artifact token.
 */
describe('the fleet with one Redis user per machine', () => {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-fleet-acl-'));
  let server: ResultPromise;
  let setup: LanSetup;
  let port: number;
  let executor: FleetExecutor;
  let artifactServer: Awaited<ReturnType<typeof startArtifactServer>>;
  const workers: WorkerProcess[] = [];
  const url = (user: { username: string; password: string }) =>
    connectionUrl({ host: '127.0.0.1', port, username: user.username, password: user.password });

  beforeAll(async () => {
    port = await freePort();
    const written = writeLanSetup({ stateDir: join(root, 'redis'), prefix: 'acl', lanAddress: null, port, rotate: false });
    setup = written.setup;
    server = execa('redis-server', [written.files.conf, '--appendonly', 'no'], { stdio: 'ignore', reject: false });
    for (let i = 0; !(await probeRedis(url(setup.mini), 500)).ok; i++) {
      if (i > 200) throw new Error('the ACL redis-server did not come up');
      await new Promise((r) => setTimeout(r, 50));
    }
    artifactServer = await startArtifactServer({ dir: join(root, 'mini', 'artifacts'), token: 'artifact-token', maxUploadBytes: 1 << 30 });
    const miniFile = writeMachineConfig(root, { machine: 'mini', redisUrl: url(setup.mini), prefix: 'acl', state: join(root, 'mini') });
    const mbpFile = writeMachineConfig(root, {
      machine: 'mbp',
      redisUrl: url(setup.mbp),
      prefix: 'acl',
      state: join(root, 'mbp'),
      artifactsUrl: artifactServer.url,
    });
    executor = createFleetExecutor(loadConfig({ file: miniFile }), url(setup.mini), {
      pollMs: 200,
      prepareDataset: async (request) => ({ dir: writeDataset(join(root, 'datasets', request.experimentId), request.experimentId) }),
    });
    workers.push(await startWorkerProcess(miniFile, 'mini', { STEP_TRAINER_MS: '20' }));
    workers.push(await startWorkerProcess(mbpFile, 'mbp', { AUTORESEARCH_ARTIFACT_TOKEN: 'artifact-token', STEP_TRAINER_MS: '20' }));
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) await w.stop();
    await executor?.close();
    await artifactServer?.close();
    server.kill('SIGTERM');
    await server;
    rmSync(root, { recursive: true, force: true });
  });

  it("the laptop trains a full-mode experiment as its own user, and its worker logs no permission error", async () => {
    const redis = producerConnection(url(setup.mini), { enableOfflineQueue: true });
    const stop = new AbortController();
    try {
      await until('mbp heartbeat', async () => (await readPresence(redis, 'acl')).live.some((h) => h.machine === 'mbp'));
      const values = { ...baselineValues(['yoda', 'windu']), ITERS: 50, EXPERIMENT_HYPOTHESIS: 'acl drill' };
      await executor.submit({ experimentId: 'exp-acl', kind: 'experiment', mode: 'auto', commit: 'abc1234', values });
      executor.wait('exp-acl', { signal: stop.signal }).catch(() => undefined);
      const store = new ExperimentStore(redis, 'acl');
      const record = await until('exp-acl trained', async () => {
        const r = await store.read('exp-acl');
        return r && r.stage !== 'train' && r.stage !== 'enqueueing' ? r : null;
      }, 60_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`);
      });
      expect(record.mode).toBe('full');
      expect(record.training).toMatchObject({ status: 'ok', machine: 'mbp' });
      expect(existsSync(join(root, 'mini', 'artifacts', 'bundles', record.adapterSha256!, 'adapters.safetensors'))).toBe(true);
      for (const w of workers) expect(w.output()).not.toMatch(/NOPERM/);
    } finally {
      stop.abort();
      redis.disconnect();
    }
  });
});
