import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { parseConfig } from '../../src/config/load.js';
import { RemoteArtifacts } from '../../src/fleet/artifact-client.js';
import { BlobStore } from '../../src/fleet/blob-store.js';
import { pruneStore } from '../../src/fleet/retention.js';
import { appendResult } from '../../src/research/results-file.js';
import type { ResultRow } from '../../src/research/results-format.js';
import type { ExperimentRequest } from '../../src/research/executor.js';
import { sweepCoordinator } from '../../src/server/retention.js';
import { startArtifactServer } from '../support/artifact-server.js';
import { uniquePrefix } from '../support/redis.js';

const DAY = 86_400_000;
const AGENTS = ['yoda'];

function folder(dir: string, files: Record<string, string | Buffer>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

const keepRow = (experimentId: string, adapterSha256: string): ResultRow => ({
  experimentId,
  result: 'keep',
  score: 0.9,
  jailbreak: 0.9,
  agents: { yoda: 0.9 },
  mode: 'proxy',
  model: 'tiny',
  commit: 'abc1234',
  hypothesis: 'champion',
  parameters: {},
  trainLoss: null,
  valLoss: null,
  trainSeconds: null,
  evalSeconds: null,
  wins: null,
  losses: null,
  p: null,
  reasons: [],
  adapterSha256,
  timestamp: '2026-12-01T02:15:00.000Z',
  holdout: null,
  proposer: 'hand',
});

describe('retention', () => {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-retention-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("deletes old bundles, blobs, eval runs and training runs on the Mini, never a champion's or an in-flight experiment's", async () => {
    const state = join(root, 'mini');
    const prefix = uniquePrefix('retention');
    const config = parseConfig(`paths: { state: ${state}, results: ${join(root, 'results.tsv')} }\nredis: { prefix: ${prefix}, embedded: false }\n`, {
      file: null,
      baseDir: root,
      env: {},
    });
    const store = new BlobStore(join(state, 'artifacts'));
    const champion = await store.putFolder(folder(join(root, 'src', 'champion'), { 'adapters.safetensors': 'champion weights' }));
    const discarded = await store.putFolder(folder(join(root, 'src', 'discarded'), { 'adapters.safetensors': 'discarded weights' }));
    const dataset = await store.putFolder(folder(join(root, 'src', 'dataset'), { 'train.jsonl': 'in-flight data\n' }));
    // A blob no manifest lists: an upload whose manifest never came.
    const orphan = createHash('sha256').update('orphan').digest('hex');
    expect(await store.putBlobStream(orphan, Readable.from([Buffer.from('orphan')]), 100)).toBe('stored');
    appendResult(config.paths.results, keepRow('exp-champion', champion), AGENTS);

    const redis = new Redis(inject('redisUrl'));
    try {
      const records = new ExperimentStore(redis, prefix);
      const request = { experimentId: 'exp-flying', kind: 'experiment', mode: 'proxy', commit: 'abc1234', values: {} } as unknown as ExperimentRequest;
      await records.create(request, { mode: 'proxy', modeReason: 'requested', model: 'tiny', datasetSha256: dataset });
      await records.compareAndSet('exp-flying', { stage: 'enqueueing' }, { stage: 'done', result: JSON.stringify({ runId: 'eval-flying', machine: 'mini' }) });

      folder(join(state, 'evals', 'eval-flying'), { 'summary.json': '{}' });
      folder(join(state, 'evals', 'eval-decided'), { 'summary.json': '{}' });
      folder(join(state, 'runs', 'exp-flying-train-proxy', 'token-1'), { 'train.log': 'step 1' });
      folder(join(state, 'runs', 'exp-old-train-proxy', 'token-1'), { 'train.log': 'step 1' });

      // A day later nothing is old enough.
      expect(await sweepCoordinator(config, redis, Date.now() + DAY)).toEqual([]);

      const removed = await sweepCoordinator(config, redis, Date.now() + 15 * DAY);
      expect(removed.length).toBeGreaterThan(0);
      expect(store.bundleFolder(champion)).not.toBeNull();
      expect(store.bundleFolder(dataset)).not.toBeNull();
      expect(store.bundleFolder(discarded)).toBeNull();
      expect(store.hasBlob(discarded)).toBe(false);
      expect(store.hasBlob(orphan)).toBe(false);
      // The discarded adapter's weights went with it; the champion's and the dataset's stayed.
      const blobs = readdirSync(join(state, 'artifacts', 'blobs'));
      expect(blobs.sort()).toEqual([champion, dataset, ...(await store.readManifest(champion))!.files.map((f) => f.sha256), ...(await store.readManifest(dataset))!.files.map((f) => f.sha256)].sort());
      expect(readdirSync(join(state, 'evals'))).toEqual(['eval-flying']);
      expect(readdirSync(join(state, 'runs'))).toEqual(['exp-flying-train-proxy']);
    } finally {
      redis.disconnect();
    }
  });

  it("removes a pruned bundle's blobs in the same sweep, although unlinking the bundle made them look new", async () => {
    const store = new BlobStore(join(root, 'same-sweep'));
    const sha = await store.putFolder(folder(join(root, 'src', 'same-sweep'), { 'adapters.safetensors': 'weights' }));
    const weights = (await store.readManifest(sha))!.files[0]!.sha256;
    await new Promise((r) => setTimeout(r, 200));
    await pruneStore(store, { maxAgeMs: 100, protect: new Set() });
    expect(store.bundleFolder(sha)).toBeNull();
    expect(store.hasBlob(weights)).toBe(false);
  });

  it('skips the sweep when it cannot tell what is in flight', async () => {
    const config = parseConfig(`paths: { state: ${join(root, 'blind')} }\nredis: { prefix: blind, embedded: false }\n`, { file: null, baseDir: root, env: {} });
    folder(join(root, 'blind', 'runs', 'exp-x-train-proxy'), { 'train.log': '' });
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on('error', () => undefined);
    await expect(sweepCoordinator(config, dead, Date.now() + 30 * DAY)).rejects.toThrow();
    expect(existsSync(join(root, 'blind', 'runs', 'exp-x-train-proxy'))).toBe(true);
  });

  it("trims the laptop's download cache to its size, least recently used first, keeping the bundle in use", async () => {
    const server = await startArtifactServer({ dir: join(root, 'store'), token: 't', maxUploadBytes: 1 << 30 });
    try {
      const mini = new RemoteArtifacts(server.url, 't', new BlobStore(join(root, 'mini-cache')), { timeoutMs: 10_000, maxBytes: 1 << 30 });
      const shas: string[] = [];
      for (const name of ['a', 'b', 'c']) shas.push(await mini.publishFolder(folder(join(root, 'adapters', name), { 'adapters.safetensors': randomBytes(1 << 20) })));
      const [a, b, c] = shas as [string, string, string];
      const cache = new BlobStore(join(root, 'laptop-cache'));
      const laptop = new RemoteArtifacts(server.url, 't', cache, { timeoutMs: 10_000, maxBytes: 1 << 30, cacheMaxBytes: 2.5 * (1 << 20) });
      const pause = () => new Promise((r) => setTimeout(r, 30));
      await laptop.resolveBundle(a);
      await pause();
      await laptop.resolveBundle(b);
      await pause();
      await laptop.resolveBundle(a);
      await pause();
      await laptop.resolveBundle(c);
      expect(cache.bundleFolder(a)).not.toBeNull();
      expect(cache.bundleFolder(c)).not.toBeNull();
      expect(cache.bundleFolder(b)).toBeNull();
      expect(await cache.totalBytes()).toBeLessThanOrEqual(2.5 * (1 << 20));
    } finally {
      await server.close();
    }
  });
});
