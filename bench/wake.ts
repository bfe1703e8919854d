import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import { artifactStoreFor } from '../src/fleet/artifact-client.js';
import { freePort } from '../src/net/free-port.js';
import { producerConnection } from '../src/redis/connections.js';
import { startRedisServer, type RedisServerHandle } from '../src/redis/server-process.js';
import { baselineValues, searchSpace } from '../src/research/hyperparameters.js';
import { median } from '../src/stats/averages.js';
import { parsePayload } from '../queues/contracts.js';
import { jobIds } from '../queues/names.js';
import { startWorkerProcess, until, writeDataset, writeMachineConfig, type WorkerProcess } from '../test/support/fleet-harness.js';

/** The wake target from issue 15: a waking laptop starts a waiting full-mode job within 2 s of reaching Redis. */
const GOAL_MS = 2_000;
/** Longer than BullMQ's drainDelay (5 s): the worker's blocking read has been answered or timed out meanwhile. */
const ASLEEP_MS = 8_000;
/** How long Redis stays unreachable after the wake in network-late: long enough for reconnect backoff to grow. */
const OFFLINE_MS = 30_000;
const REPEATS = Number(process.env.WAKE_REPEATS ?? 3);

interface Sample {
  scenario: string;
  /** From the moment the laptop could reach Redis again to the job seen active in Redis. */
  ms: number;
  /** From the same moment to the trainer child running (its pid file written). */
  trainerMs: number;
}

/**
 * `npm run bench -- wake`: how long a waking laptop takes to start a waiting `train-full` job, with the real
 * worker process (test/support/fleet-worker.ts: runWorker with the step trainer) and a real redis-server.
 * A sleeping laptop is a SIGSTOPped worker; four wake-ups:
 *  - sigcont-kept: its TCP connections survived the sleep (a short nap);
 *  - sigcont-dropped: Redis closed them meanwhile (keepalive, a network change), so it must reconnect;
 *  - network-late: it wakes while Redis is unreachable and Redis comes back 30 s later;
 *  - fresh-start: no worker ran; a new process starts (launchd after a reboot), timed from its first
 *    connection to Redis (and, separately, from the spawn).
 */
export async function benchWake(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-wake-'));
  const dataDir = join(root, 'redis');
  const port = await freePort();
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  let server: RedisServerHandle = await startRedisServer({ port, dataDir });
  const prefix = 'wake';
  const configFile = writeMachineConfig(root, {
    machine: 'mbp',
    redisUrl: server.url,
    prefix,
    state: join(root, 'state'),
    // The production lock and heartbeat timings, not the harness's short ones: the laptop's timers as they are.
    fleet: {
      heartbeat: { intervalMs: 10_000, ttlMs: 30_000 },
      lock: { durationMs: 120_000, stalledIntervalMs: 30_000, maxStalledCount: 3, maxStartedAttempts: 8 },
    },
  });
  const config = loadConfig({ file: configFile });
  const datasetSha256 = await artifactStoreFor(config).publishFolder(writeDataset(join(root, 'dataset'), 'wake'));
  const samples: Sample[] = [];
  let worker: WorkerProcess | null = null;
  let redis: Redis | null = null;
  let queue: Queue | null = null;
  const connect = () => {
    redis = producerConnection(server.url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    redis.on('error', () => undefined);
    queue = new Queue('train-full', { connection: redis, prefix });
    queue.on('error', () => undefined);
  };
  const disconnect = async () => {
    await queue?.close().catch(() => undefined);
    redis?.disconnect();
    queue = null;
    redis = null;
  };
  connect();

  let n = 0;
  const addJob = async () => {
    n += 1;
    const experimentId = `wake-${n}`;
    const jobId = jobIds.train(experimentId, 'full');
    const space = config.models.full.searchSpace;
    const values = { ...baselineValues(['yoda'], searchSpace(space).table), ITERS: 50 };
    const payload = parsePayload('train-full', { experimentId, mode: 'full', commit: 'abc1234', searchSpace: space, values, datasetSha256 });
    await queue!.add('train-full', payload, { jobId, attempts: 1 });
    return jobId;
  };
  /**
   * When the job was seen active (polled every 10 ms on Redis itself) and when its trainer started, both from
   * `from`; the job must then succeed. Not processedOn: that is the worker's clock when it issued the fetch,
   * and a worker waking offline issues it at once and sends it from its offline queue once Redis is back.
   */
  const started = async (scenario: string, jobId: string, from: number) => {
    const activeAt = await until(`${jobId} to be picked up`, async () => ((await queue!.getJobState(jobId)) === 'waiting' ? null : Date.now()), 60_000, 10);
    const job = await until(`${jobId} to finish`, async () => {
      const current = await queue!.getJob(jobId);
      return current?.finishedOn ? current : null;
    }, 60_000, 50);
    if (job.failedReason) throw new Error(`${jobId} failed: ${job.failedReason}`);
    const trainerAt = await until(`${jobId}'s trainer to start`, async () => trainerStarted(join(root, 'state', 'runs', jobId)), 60_000, 10);
    samples.push({ scenario, ms: activeAt - from, trainerMs: Math.round(trainerAt - from) });
  };
  const startWorker = async () => {
    worker = await startWorkerProcess(configFile, 'mbp', { STEP_TRAINER_MS: '5', AUTORESEARCH_LOG_LEVEL: 'warn' });
    return worker;
  };
  const sleepFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

  try {
    for (let i = 0; i < REPEATS; i++) {
      // A nap: the connections survive; the job arrives while the laptop sleeps.
      const w = await startWorker();
      await sleepFor(1_000);
      process.kill(w.pid, 'SIGSTOP');
      let jobId = await addJob();
      await sleepFor(ASLEEP_MS);
      let woke = Date.now();
      process.kill(w.pid, 'SIGCONT');
      await started('sigcont-kept', jobId, woke);

      // A longer sleep: Redis dropped the laptop's connections (as keepalive or a network change would).
      process.kill(w.pid, 'SIGSTOP');
      const killed = Number(await redis!.call('CLIENT', 'KILL', 'SKIPME', 'yes'));
      if (killed < 2) throw new Error(`CLIENT KILL closed ${killed} connection(s); the worker holds more`);
      jobId = await addJob();
      await sleepFor(ASLEEP_MS);
      woke = Date.now();
      process.kill(w.pid, 'SIGCONT');
      await started('sigcont-dropped', jobId, woke);

      // Waking where Redis is unreachable: the worker retries against a closed port until the network is back.
      process.kill(w.pid, 'SIGSTOP');
      jobId = await addJob();
      await disconnect();
      await server.stop();
      process.kill(w.pid, 'SIGCONT');
      await sleepFor(OFFLINE_MS);
      server = await startRedisServer({ port, dataDir });
      const back = Date.now();
      connect();
      await started('network-late', jobId, back);
      await w.stop();
      worker = null;

      // A fresh start with the job already waiting.
      jobId = await addJob();
      const before = await clientIds(redis!);
      const spawnedAt = Date.now();
      const connectedAt = firstNewClient(redis!, before);
      await startWorker();
      const firstConnection = await connectedAt;
      await started('fresh-start', jobId, firstConnection);
      const fresh = samples.at(-1)!;
      samples.push({ scenario: 'fresh-start (from spawn)', ms: fresh.ms + (firstConnection - spawnedAt), trainerMs: fresh.trainerMs + (firstConnection - spawnedAt) });
      await worker!.stop();
      worker = null;
    }
  } finally {
    const w = worker as WorkerProcess | null;
    if (w) {
      process.kill(w.pid, 'SIGCONT');
      await w.stop();
    }
    await disconnect();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
  report(samples, loadBefore);
}

/** When the job's trainer child wrote its pid file (the file's mtime), or null if it has not. */
function trainerStarted(runsDir: string): number | null {
  if (!existsSync(runsDir)) return null;
  const files = readdirSync(runsDir).map((attempt) => join(runsDir, attempt, 'trainer.pid')).filter((file) => existsSync(file));
  return files.length > 0 ? Math.min(...files.map((file) => statSync(file).mtimeMs)) : null;
}

/**
 * When a new worker process's first connection shows up in CLIENT LIST: polled every 10 ms, so up to 10 ms
 * late, which flatters the worker by as much. Every client not there before the spawn is the worker's.
 */
function firstNewClient(redis: Redis, before: ReadonlySet<string>): Promise<number> {
  return until('the worker to connect to Redis', async () => ([...(await clientIds(redis))].some((id) => !before.has(id)) ? Date.now() : null), 60_000, 10);
}

async function clientIds(redis: Redis): Promise<Set<string>> {
  const list = String(await redis.call('CLIENT', 'LIST'));
  return new Set(list.split('\n').flatMap((line) => /\bid=(\d+)/.exec(line)?.[1] ?? []));
}

function report(samples: Sample[], loadBefore: string): void {
  const load = readFileSync('/proc/loadavg', 'utf8').trim();
  const scenarios = [...new Set(samples.map((s) => s.scenario))];
  console.log(`wake: time from Redis reachable again to a waiting train-full job starting; goal ${GOAL_MS} ms; /proc/loadavg before ${loadBefore}, after ${load}`);
  for (const scenario of scenarios) {
    const mine = samples.filter((s) => s.scenario === scenario);
    const ms = mine.map((s) => s.ms);
    const worst = Math.max(...ms);
    console.log(
      `  ${scenario.padEnd(26)} picked up ${ms.map((x) => `${x}`).join(', ')} ms (median ${median(ms)}, worst ${worst}, ` +
        `worst/goal ${(worst / GOAL_MS).toFixed(2)}); trainer running ${mine.map((s) => s.trainerMs).join(', ')} ms`,
    );
  }
}
