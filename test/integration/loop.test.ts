import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { parseConfig } from '../../src/config/load.js';
import { offlinePlanner } from '../../src/planner/offline.js';
import { PROJECT_ROOT } from '../../src/project.js';
import type { SectionValues } from '../../src/research/executor.js';
import { searchSpace } from '../../src/research/hyperparameters.js';
import { LeaseHeldError, PlannerLease } from '../../src/research/lease.js';
import { DirtyTreeError, GitLedger } from '../../src/research/ledger.js';
import { runLoop, type LoopDeps } from '../../src/research/loop.js';
import { readResults } from '../../src/research/results-file.js';
import { readSection, writeSection } from '../../src/research/section.js';
import { uniquePrefix } from '../support/redis.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const silent = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The loop's real dependencies (git, files, Redis, the BullMQ executor) with no worker running. */
async function setup(): Promise<{ deps: LoopDeps; repo: string; executor: FleetExecutor; redis: Redis }> {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-loop-'));
  const repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
  const prefix = uniquePrefix('loop');
  const config = parseConfig(JSON.stringify({ paths: { state: join(root, 'state'), repo }, redis: { url: inject('redisUrl'), embedded: false, prefix } }), {
    file: null,
    baseDir: root,
    env: {},
  });
  const redis = new Redis(inject('redisUrl'));
  const executor = createFleetExecutor(config, inject('redisUrl'), { log: silent, pollMs: 100 });
  cleanups.push(() => rmSync(root, { recursive: true, force: true }), () => rmSync(repo, { recursive: true, force: true }), () => redis.disconnect(), () => executor.close());
  const deps: LoopDeps = {
    planner: offlinePlanner(0),
    section: {
      read: (s, space) => readSection(s, AGENTS, space.table) as unknown as SectionValues,
      write: (s, v, space) => writeSection(s, v, AGENTS, space.table),
    },
    spaces: { proxy: searchSpace('qwen'), full: searchSpace('qwen') },
    redis,
    redisPrefix: prefix,
    leaseTtlMs: 2_000,
    resolveMode: async () => ({ mode: 'proxy', reason: 'requested' }),
    models: { proxy: 'tiny', full: 'tiny' },
    budgets: config.models,
    pickupDeadlineMs: 1_000,
    evalAllowanceSeconds: 60,
    resultsPath: join(repo, 'results.tsv'),
    memoryEventsDir: join(root, 'events'),
    artifacts: { adaptersExperimental: join(repo, 'adapters-experimental'), logs: join(repo, 'logs'), stableAdapter: join(root, 'stable') },
    keepDiscardedAdapters: 5,
    agents: AGENTS,
    thresholds: config.council.thresholds,
    ledger: await GitLedger.open(repo, 'autoresearch/test'),
    executor,
    log: silent,
    now: () => new Date(),
  };
  return { deps, repo, executor, redis };
}

const never = new AbortController().signal;
const soon = () => new Date(Date.now() + 1_000);

describe('runLoop', () => {
  it('only one planner at a time: a held lease refuses the second run and names the holder', async () => {
    const { deps, redis } = await setup();
    const lease = await PlannerLease.acquire(redis, `${deps.redisPrefix}:planner:lease`, 5_000);
    cleanups.push(() => lease.release());
    await expect(runLoop(deps, { maxExperiments: 1, deadline: soon(), mode: 'proxy', signal: never })).rejects.toThrow(LeaseHeldError);
    await expect(runLoop(deps, { maxExperiments: 1, deadline: soon(), mode: 'proxy', signal: never })).rejects.toThrow(/another planner holds the lease .*:\d+:/);
  });

  it('refuses a dirty work tree, naming the files, before touching anything', async () => {
    const { deps, repo } = await setup();
    writeFileSync(join(repo, '.gitignore'), 'changed\n');
    await expect(runLoop(deps, { maxExperiments: 1, deadline: soon(), mode: 'proxy', signal: never })).rejects.toThrow(DirtyTreeError);
    expect(gitIn(repo, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
    // The lease was released on the way out.
    expect(await deps.redis.exists(`${deps.redisPrefix}:planner:lease`)).toBe(0);
  });

  it('reconciles a commit nobody decided: a crash row, a memory event, and git back at the champion', async () => {
    const { deps, repo } = await setup();
    await deps.ledger.ensureBranch();
    const champion = await deps.ledger.head();
    const source = deps.ledger.readTrainPy();
    const values = { ...deps.section.read(source, deps.spaces.proxy), LORA_RANK: 16, EXPERIMENT_HYPOTHESIS: 'lost in a power cut' };
    const lost = await deps.ledger.commitExperiment('exp-lost', 'lost in a power cut', 'Changes: LORA_RANK 32 -> 16', deps.section.write(source, values, deps.spaces.proxy));
    const summary = await runLoop(deps, { maxExperiments: 1, deadline: soon(), mode: 'proxy', signal: never });
    expect(summary.rows.map((r) => [r.experimentId, r.result])).toEqual([['exp-lost', 'crash']]);
    expect(summary.stoppedBecause).toBe('no time left for a baseline before the deadline');
    const rows = readResults(deps.resultsPath).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ experimentId: 'exp-lost', result: 'crash', commit: lost.commit, hypothesis: 'lost in a power cut' });
    expect(rows[0]!.parameters).toMatchObject({ LORA_RANK: 16 });
    expect(rows[0]!.reasons[0]).toMatch(/committed but never decided/);
    expect(gitIn(repo, 'rev-parse', 'HEAD').trim()).toBe(champion);
    expect(gitIn(repo, 'rev-parse', 'refs/autoresearch/experiments/exp-lost').trim()).toBe(lost.commit);
    expect(readFileSync(join(deps.memoryEventsDir, 'autoresearch-exp-lost.md'), 'utf8')).toContain('decision: crash');
    // A second start finds nothing to reconcile and writes nothing.
    await runLoop(deps, { maxExperiments: 1, deadline: soon(), mode: 'proxy', signal: never });
    expect(readResults(deps.resultsPath).rows).toHaveLength(1);
  });

  it('never starts what cannot finish before the deadline, and stops at once when interrupted', async () => {
    const { deps, executor } = await setup();
    const before = await deps.ledger.head();
    const summary = await runLoop(deps, { maxExperiments: 3, deadline: soon(), mode: 'proxy', signal: never });
    expect(summary).toEqual({ rows: [], stoppedBecause: 'no time left for a baseline before the deadline', abandoned: null });
    expect(await executor.pending()).toEqual([]);
    const aborted = AbortSignal.abort(new Error('interrupted by SIGINT'));
    const stopped = await runLoop(deps, { maxExperiments: 3, deadline: new Date(Date.now() + 3600_000), mode: 'proxy', signal: aborted });
    expect(stopped.stoppedBecause).toBe('interrupted (interrupted by SIGINT)');
    expect(await executor.pending()).toEqual([]);
    expect(await deps.ledger.head()).toBe(before);
  });

  it('SIGINT while waiting abandons cleanly: the experiment stays in flight for the next run, nothing is recorded', async () => {
    const { deps, executor } = await setup();
    const controller = new AbortController();
    // No worker runs here, so the baseline waits until the abort.
    deps.onProgress = (p) => {
      if (p.stage === 'queued') controller.abort(new Error('interrupted by SIGINT'));
    };
    const summary = await runLoop(deps, { maxExperiments: 1, deadline: new Date(Date.now() + 3600_000), mode: 'proxy', signal: controller.signal });
    expect(summary.stoppedBecause).toBe('interrupted during the baseline');
    expect(summary.abandoned).toMatch(/^base-proxy-/);
    expect((await executor.pending()).map((r) => r.experimentId)).toEqual([summary.abandoned]);
    expect(readResults(deps.resultsPath).rows).toEqual([]);
    expect(await deps.redis.exists(`${deps.redisPrefix}:planner:lease`)).toBe(0);
  });
});
