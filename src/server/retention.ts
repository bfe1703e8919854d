import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load.js';
import { localStoreDir } from '../fleet/artifact-client.js';
import { BlobStore } from '../fleet/blob-store.js';
import { pruneFolders, pruneStore, type Removed } from '../fleet/retention.js';
import type { Logger } from '../log.js';
import { readResults } from '../research/results-file.js';
import { evalResultSchema } from '../../queues/contracts.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { jobIds } from '../../queues/names.js';

/** What must survive a sweep: every champion's adapter, and whatever an experiment still in flight refers to. */
export interface Protected {
  bundles: Set<string>;
  evalRuns: Set<string>;
  runFolders: Set<string>;
}

/**
 * Champions from results.tsv (every base and keep row, past ones too: a baseline evaluates the champion's adapter
 * from the store), in-flight experiments from their Redis records. Throws when either cannot be read: a sweep
 * that does not know what is in flight must not run.
 */
export async function protectedFiles(config: Pick<Config, 'paths' | 'redis'>, redis: Redis): Promise<Protected> {
  const kept: Protected = { bundles: new Set(), evalRuns: new Set(), runFolders: new Set() };
  for (const row of readResults(config.paths.results).rows) {
    if ((row.result === 'base' || row.result === 'keep') && row.adapterSha256) kept.bundles.add(row.adapterSha256);
  }
  const store = new ExperimentStore(redis, config.redis.prefix);
  for (const id of await store.pendingIds()) {
    const record = await store.read(id);
    if (!record) continue;
    for (const sha of [record.datasetSha256, record.adapterSha256, record.training?.adapterSha256, record.request.championAdapterSha256]) {
      if (sha) kept.bundles.add(sha);
    }
    kept.runFolders.add(jobIds.train(id, 'full'));
    kept.runFolders.add(jobIds.train(id, 'proxy'));
    const result = record.result ? evalResultSchema.safeParse(JSON.parse(record.result)) : null;
    if (result?.success) kept.evalRuns.add(result.data.runId);
  }
  return kept;
}

/** One sweep of the coordinator's state: the artifact store, `<state>/evals` and `<state>/runs`. */
export async function sweepCoordinator(config: Pick<Config, 'paths' | 'redis' | 'fleet'>, redis: Redis, now = Date.now()): Promise<Removed[]> {
  const kept = await protectedFiles(config, redis);
  const maxAgeMs = config.fleet.retention.days * 86_400_000;
  return [
    ...(await pruneStore(new BlobStore(localStoreDir(config)), { maxAgeMs, protect: kept.bundles, now })),
    ...(await pruneFolders(join(config.paths.state, 'evals'), { maxAgeMs, now, isProtected: (n) => kept.evalRuns.has(n) })),
    ...(await pruneFolders(join(config.paths.state, 'runs'), { maxAgeMs, now, isProtected: (n) => kept.runFolders.has(n) })),
  ];
}

/** Sweeps a minute after start, then every `fleet.retention.intervalMs`; returns the stop function. */
export function startRetention(config: Pick<Config, 'paths' | 'redis' | 'fleet'>, redis: Redis, log: Logger): () => void {
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const removed = await sweepCoordinator(config, redis);
      if (removed.length > 0) {
        log.info({ removed: removed.length, bytes: removed.reduce((s, r) => s + r.bytes, 0) }, 'retention: deleted old artifacts and run folders');
      }
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'retention sweep skipped');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void sweep(), 60_000);
  const every = setInterval(() => void sweep(), config.fleet.retention.intervalMs);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
