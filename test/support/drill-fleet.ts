import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { producerConnection } from '../../src/redis/connections.js';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { ExperimentStore, type ExperimentRecord } from '../../queues/experiment-state.js';
import { startArtifactServer } from './artifact-server.js';
import { until, writeDataset, writeMachineConfig, type WorkerProcess } from './fleet-harness.js';

export interface DrillFleet {
  miniConfig: string;
  mbpConfig: string;
  /** Restarts the Mini's artifact server on its port with another token, as a token rotation would. */
  rotateArtifactToken: (token: string) => Promise<void>;
  executor: FleetExecutor;
  redis: ReturnType<typeof producerConnection>;
  store: ExperimentStore;
  /** Worker processes the test starts; close() stops those still running. */
  running: WorkerProcess[];
  /** Drives the experiment's record until its training is decided (drill machines do not evaluate). */
  trained: (experimentId: string) => Promise<ExperimentRecord>;
  close: () => Promise<void>;
}

/**
 * The planner's side of a fleet drill in `root`: the Mini's artifact server, a machine config for the Mini and one
 * for the laptop (which fetches over HTTP with the artifact token `drill-token`), and the executor, with datasets written straight to disk. The test
 * starts the worker processes it needs and pushes them to `running`.
 */
export async function startDrillFleet(url: string, prefix: string, root: string): Promise<DrillFleet> {
  const miniState = join(root, 'mini');
  const serveArtifacts = (token: string, port?: number) =>
    startArtifactServer({ dir: join(miniState, 'artifacts'), token, maxUploadBytes: 1 << 30, ...(port === undefined ? {} : { port }) });
  let artifactServer = await serveArtifacts('drill-token');
  const miniConfig = writeMachineConfig(root, { machine: 'mini', redisUrl: url, prefix, state: miniState });
  const mbpConfig = writeMachineConfig(root, { machine: 'mbp', redisUrl: url, prefix, state: join(root, 'mbp'), artifactsUrl: artifactServer.url });
  const executor = createFleetExecutor(loadConfig({ file: miniConfig }), url, {
    pollMs: 200,
    prepareDataset: async (request) => ({ dir: writeDataset(join(root, 'datasets', request.experimentId), request.experimentId) }),
  });
  const redis = producerConnection(url);
  const store = new ExperimentStore(redis, prefix);
  const running: WorkerProcess[] = [];
  const trained = (experimentId: string) => {
    const stop = new AbortController();
    executor.wait(experimentId, { signal: stop.signal }).catch(() => undefined);
    return until(`${experimentId} trained`, async () => {
      const record = await store.read(experimentId);
      return record && record.stage !== 'train' && record.stage !== 'enqueueing' ? record : null;
    }, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${running.map((w) => w.output().slice(-3000)).join('\n---\n')}`);
    }).finally(() => stop.abort());
  };
  const rotateArtifactToken = async (token: string) => {
    const port = Number(new URL(artifactServer.url).port);
    await artifactServer.close();
    artifactServer = await serveArtifacts(token, port);
  };
  const close = async () => {
    for (const w of running) if (w.child.exitCode === null) await w.stop();
    await executor.close();
    await artifactServer.close();
    redis.disconnect();
    rmSync(root, { recursive: true, force: true });
  };
  return { miniConfig, mbpConfig, rotateArtifactToken, executor, redis, store, running, trained, close };
}
