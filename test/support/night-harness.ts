import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pino, { type Logger } from 'pino';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { loadCouncil } from '../../src/council/load.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { idleServerSection } from '../../src/config/sections/idle-server.js';
import { idleCommand } from '../../src/demo/idle-model-server.js';
import { IdleServer } from '../../src/fleet/idle-server.js';
import { freePort } from '../../src/net/free-port.js';
import { readPresence } from '../../src/fleet/presence.js';
import { sectionValidator } from '../../src/planner/proposal.js';
import { oneShotSampler } from '../../src/planner/sampler-process.js';
import { samplerPlanner } from '../../src/planner/sampler.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { producerConnection } from '../../src/redis/connections.js';
import type { Mode, SectionValues } from '../../src/research/executor.js';
import { searchSpace } from '../../src/research/hyperparameters.js';
import { GitLedger } from '../../src/research/ledger.js';
import type { LoopDeps } from '../../src/research/loop-deps.js';
import { readSection, writeSection } from '../../src/research/section.js';
import { startArtifactServer } from './artifact-server.js';
import { startWorkerProcess, until, writeDataset, writeMachineConfig, type WorkerProcess } from './fleet-harness.js';
import { uniquePrefix } from './redis.js';
import { tempRepo } from './temp-repo.js';

export interface NightTiming {
  /** Training durations per mode and the evaluation's, in ms (the seed's proportions: 30, 15, 6 units). */
  fullMs: number;
  proxyMs: number;
  evalMs: number;
}

export type MachineRole = 'mini' | 'mbp';

/**
 * A research night on this machine with the real planner loop, git, Redis, BullMQ executor and worker
 * processes: `mini` (train-proxy, eval, route; the planner's machine and state) and `mbp` (train-full, uploading
 * to the Mini's artifact store). Training is the step trainer timed per mode, evaluation the timed stand-in
 * scorer (test/support/step-evaluator.ts).
 */
export async function startNight(options: {
  redisUrl: string;
  timing: NightTiming;
  maxInFlight: 'auto' | number;
  log?: Logger;
  label?: string;
  /** The stand-in evaluator's pass rate for trained adapters per mode (test/support/step-evaluator.ts). */
  passRate?: Partial<Record<Mode, number>>;
  /**
   * Gives the Mini an idle model server, the stand-in launchctl drives in the drills (test/support/idle-ctl.mjs: a
   * real HTTP server process, started and stopped): its GPU lease stops it around GPU jobs and restores it after.
   */
  idleServer?: boolean;
  /**
   * Real training and evaluation instead of the timed stand-ins: the workers run python/train.py through mlx and
   * evaluate with mlx_lm.server on `model` (a model folder, the tiny model here), the planner prepares datasets
   * with prepare.py, and the Mini's idle server is a real mlx_lm.server on that model (src/demo/idle-model-server.ts).
   */
  real?: { model: string; budgetSeconds: Record<Mode, number>; searchSpace: string };
  /** Pins each worker process, with its trainer and model servers, to one CPU core (taskset -c). */
  pin?: Record<MachineRole, number>;
}) {
  const root = mkdtempSync(join(tmpdir(), `autoresearch-${options.label ?? 'night'}-`));
  const repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
  const prefix = uniquePrefix(options.label ?? 'night');
  const miniState = join(root, 'mini');
  const artifactServer = await startArtifactServer({ dir: join(miniState, 'artifacts'), token: 'night-token', maxUploadBytes: 1 << 30 });
  const sections = (state: string) => ({
    council: { dir: join(PROJECT_ROOT, 'council') },
    paths: { state, repo, memoryEvents: join(root, 'events'), stableAdapter: join(root, 'stable') },
    run: { maxInFlight: options.maxInFlight },
    ...(options.real
      ? {
          models: {
            proxy: { model: options.real.model, budgetSeconds: options.real.budgetSeconds.proxy, graceSeconds: 120, searchSpace: options.real.searchSpace },
            full: { model: options.real.model, budgetSeconds: options.real.budgetSeconds.full, graceSeconds: 120, searchSpace: options.real.searchSpace },
            training: { valBatches: 4 },
          },
          eval: { concurrency: 2, maxTokens: 48, serverStartTimeoutMs: 180_000, requestTimeoutMs: 120_000 },
        }
      : {}),
  });
  const roles = {
    mini: { consumes: ['train-proxy', 'eval', 'route'], stalledCheck: ['train-full'] },
    mbp: { consumes: ['train-full'], stalledCheck: [] },
  };
  const idleDir = join(root, 'idle-server');
  const idleServer = !options.idleServer
    ? null
    : options.real
      ? await startIdleMlxServer(idleDir, options.real.model, join(root, 'stable'), options.pin?.mini)
      : await startIdleStandIn(idleDir);
  const files: Record<MachineRole, string> = {
    mini: writeMachineConfig(root, {
      machine: 'mini',
      redisUrl: options.redisUrl,
      prefix,
      state: miniState,
      fleet: { roles },
      sections: sections(miniState),
      ...(idleServer ? { idleServer: idleServer.section } : {}),
    }),
    mbp: writeMachineConfig(root, {
      machine: 'mbp',
      redisUrl: options.redisUrl,
      prefix,
      state: join(root, 'mbp'),
      artifactsUrl: artifactServer.url,
      fleet: { roles },
      sections: sections(join(root, 'mbp')),
    }),
  };
  const config: Config = loadConfig({ file: files.mini });
  const log = options.log ?? pino({ level: 'silent' });
  const executor: FleetExecutor = createFleetExecutor(config, options.redisUrl, {
    pollMs: 100,
    log,
    // Real: prepare.py on the council, as `autoresearch run` does.
    ...(options.real ? {} : { prepareDataset: async (request: { experimentId: string }) => ({ dir: writeDataset(join(root, 'datasets', request.experimentId), request.experimentId) }) }),
  });
  const redis = producerConnection(options.redisUrl);
  const agents = loadCouncil(config.council.dir).agents.map((a) => a.id);
  const env: Record<string, string> = options.real
    ? { FLEET_WORKER_TRAINER: 'mlx', AUTORESEARCH_ARTIFACT_TOKEN: 'night-token' }
    : {
        STEP_TRAINER_MODE_MS: JSON.stringify({ full: options.timing.fullMs, proxy: options.timing.proxyMs }),
        STEP_EVALUATOR_MS: String(options.timing.evalMs),
        AUTORESEARCH_ARTIFACT_TOKEN: 'night-token',
        ...(options.passRate ? { STEP_EVALUATOR_PASS: JSON.stringify(options.passRate) } : {}),
      };
  const workers: Partial<Record<MachineRole, WorkerProcess>> = {};
  const start = async (role: MachineRole) => {
    workers[role] = await startWorkerProcess(files[role], role, env, options.pin?.[role]);
    await until(`${role} heartbeat`, async () => (await readPresence(redis, prefix)).live.some((h) => h.machine === role));
    return workers[role]!;
  };
  const spaces: Record<Mode, ReturnType<typeof searchSpace>> = { full: searchSpace(config.models.full.searchSpace), proxy: searchSpace(config.models.proxy.searchSpace) };
  const deps: LoopDeps = {
    planner: samplerPlanner({ sampler: 'tpe', seed: 0, thresholds: config.council.thresholds, validate: sectionValidator(agents), client: oneShotSampler() }),
    section: {
      read: (s, space) => readSection(s, agents, space.table) as unknown as SectionValues,
      write: (s, v, space) => writeSection(s, v, agents, space.table),
    },
    spaces,
    redis,
    redisPrefix: prefix,
    leaseTtlMs: 5_000,
    resolveMode: async (requested) => {
      if (requested !== 'auto') return { mode: requested, reason: 'requested' };
      const live = (await readPresence(redis, prefix)).live;
      return live.some((h) => h.consumes.includes('train-full')) ? { mode: 'full', reason: 'mbp online' } : { mode: 'proxy', reason: 'mbp away' };
    },
    models: { proxy: config.models.proxy.model, full: config.models.full.model },
    budgets: config.models,
    pickupDeadlineMs: config.fleet.pickupDeadlineMs,
    evalAllowanceSeconds: 120,
    resultsPath: join(repo, 'results.tsv'),
    memoryEventsDir: join(root, 'events'),
    artifacts: { adaptersExperimental: join(repo, 'adapters-experimental'), logs: join(repo, 'logs'), stableAdapter: join(root, 'stable') },
    keepDiscardedAdapters: 50,
    agents,
    thresholds: config.council.thresholds,
    noiseGuard: config.council.noiseGuard,
    ledger: await GitLedger.open(repo, 'autoresearch/night'),
    executor,
    log,
    now: () => new Date(),
    concurrency: { maxInFlight: options.maxInFlight, liveWorkers: async () => (await readPresence(redis, prefix)).live, recheckMs: 500 },
  };
  return {
    root,
    repo,
    prefix,
    redis,
    config,
    deps,
    executor,
    workers,
    start,
    idleDir,
    async close() {
      for (const w of Object.values(workers)) if (w && w.child.exitCode === null) await w.stop().catch(() => undefined);
      await idleServer?.stop();
      await executor.close();
      await artifactServer.close();
      redis.disconnect();
      rmSync(root, { recursive: true, force: true });
      rmSync(repo, { recursive: true, force: true });
    },
  };
}

export type Night = Awaited<ReturnType<typeof startNight>>;

const IDLE_CTL = join(PROJECT_ROOT, 'test/support/idle-ctl.mjs');

/** The demo's idle server (a real mlx_lm.server on `model` plus the stable adapter), running, and the Mini's section for it. */
async function startIdleMlxServer(dir: string, model: string, adapter: string, core?: number) {
  mkdirSync(dir, { recursive: true });
  const files = { dir, model, adapter, port: await freePort(), maxTokens: 48 };
  const section = {
    enabled: true,
    stop: idleCommand('stop', files),
    start: idleCommand('start', files),
    healthUrl: `http://127.0.0.1:${files.port}/health`,
    healthTimeoutMs: 180_000,
    nightStart: '07:00',
    morningDeadline: '07:00',
  };
  // On the Mini's core, like the restarts its worker makes later (a pinned process's children inherit its core).
  const argv = core === undefined ? section.start : ['taskset', '-c', String(core), ...section.start];
  await execa(argv[0]!, argv.slice(1));
  const idle = new IdleServer(idleServerSection.parse(section), dir, pino({ level: 'silent' }));
  await idle.start('the daytime server before the night');
  return { section, stop: () => execa(section.stop[0]!, section.stop.slice(1)).then(() => undefined) };
}

/** The stand-in idle server, running, and the Mini's idleServer section for it (no daytime pause, the default restore delay). */
async function startIdleStandIn(dir: string) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  await execa(process.execPath, [IDLE_CTL, 'start', dir, String(port)]);
  return {
    section: {
      enabled: true,
      stop: [process.execPath, IDLE_CTL, 'stop', dir],
      start: [process.execPath, IDLE_CTL, 'start', dir, String(port)],
      healthUrl: `http://127.0.0.1:${port}/`,
      nightStart: '07:00',
      morningDeadline: '07:00',
    },
    stop: () => execa(process.execPath, [IDLE_CTL, 'stop', dir]).then(() => undefined),
  };
}
