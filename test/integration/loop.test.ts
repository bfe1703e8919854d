import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createFleetExecutor, type FleetExecutor } from '../../queues/executor.js';
import { parseConfig } from '../../src/config/load.js';
import { sectionValidator } from '../../src/planner/proposal.js';
import { oneShotSampler } from '../../src/planner/sampler-process.js';
import { samplerPlanner } from '../../src/planner/sampler.js';
import { PROJECT_ROOT } from '../../src/project.js';
import type { SectionValues } from '../../src/research/executor.js';
import { searchSpace } from '../../src/research/hyperparameters.js';
import { LEASE_LOST_EXIT_CODE, LeaseHeldError, LeaseLostError, PlannerLease } from '../../src/research/lease.js';
import { DirtyTreeError } from '../../src/research/dirty-tree.js';
import { GitLedger } from '../../src/research/ledger.js';
import { baselineRequest } from '../../src/research/baseline.js';
import { runLoop, runSingle } from '../../src/research/loop.js';
import { runExitCode } from '../../src/research/run-lifecycle.js';
import type { LoopDeps } from '../../src/research/loop-deps.js';
import { planExperiment } from '../../src/research/plan-experiment.js';
import { judge, record } from '../../src/research/outcome.js';
import { ResultsFileError, appendResult, readResults } from '../../src/research/results-file.js';
import { header } from '../../src/research/results-format.js';
import { SectionError, readSection, writeSection } from '../../src/research/section.js';
import { freePort } from '../../src/net/free-port.js';
import { producerConnection } from '../../src/redis/connections.js';
import { startRedisServer } from '../../src/redis/server-process.js';
import { uniquePrefix } from '../support/redis.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const silent = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A pino logger whose lines the test can read. */
function captured(): { log: Logger; lines: Array<{ msg: string; level: number } & Record<string, unknown>> } {
  const lines: Array<{ msg: string; level: number } & Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** The loop's real dependencies (git, files, Redis, the BullMQ executor) with no worker running. */
async function setup(options: { url?: string; redis?: Redis; leaseTtlMs?: number; log?: Logger } = {}): Promise<{ deps: LoopDeps; repo: string; executor: FleetExecutor; redis: Redis }> {
  const url = options.url ?? inject('redisUrl');
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-loop-'));
  const repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
  const prefix = uniquePrefix('loop');
  const config = parseConfig(JSON.stringify({ paths: { state: join(root, 'state'), repo }, redis: { url, embedded: false, prefix } }), {
    file: null,
    baseDir: root,
    env: {},
  });
  const redis = options.redis ?? new Redis(url);
  const executor = createFleetExecutor(config, url, { log: silent, pollMs: 100 });
  cleanups.push(() => rmSync(root, { recursive: true, force: true }), () => rmSync(repo, { recursive: true, force: true }), () => redis.disconnect(), () => executor.close());
  const deps: LoopDeps = {
    planner: samplerPlanner({ sampler: 'tpe', seed: 0, thresholds: config.council.thresholds, validate: sectionValidator(AGENTS), client: oneShotSampler() }),
    section: {
      read: (s, space) => readSection(s, AGENTS, space.table) as unknown as SectionValues,
      write: (s, v, space) => writeSection(s, v, AGENTS, space.table),
    },
    spaces: { proxy: searchSpace('qwen'), full: searchSpace('qwen') },
    redis,
    redisPrefix: prefix,
    leaseTtlMs: options.leaseTtlMs ?? 2_000,
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
    noiseGuard: config.council.noiseGuard,
    ledger: await GitLedger.open(repo, 'autoresearch/test'),
    executor,
    log: options.log ?? silent,
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

  it('a hand edit of train.py on the run branch is refused by run and experiment, never folded into a commit or wiped', async () => {
    const { deps, repo, executor } = await setup();
    await deps.ledger.ensureBranch();
    const before = await deps.ledger.head();
    const edited = deps.ledger.readTrainPy().replace(/^LORA_RANK = \d+$/m, 'LORA_RANK = 16');
    writeFileSync(join(repo, 'python/train.py'), edited);
    writeFileSync(join(repo, '.gitignore'), 'staged\n');
    gitIn(repo, 'add', '.gitignore');
    const later = new Date(Date.now() + 3600_000);
    await expect(runLoop(deps, { maxExperiments: 1, deadline: later, mode: 'proxy', signal: never })).rejects.toThrow(
      /uncommitted changes in \.gitignore \(staged\), python\/train\.py \(unstaged\)/,
    );
    await expect(runSingle(deps, { mode: 'proxy', baseline: false, skipPrepare: false, signal: never })).rejects.toThrow(DirtyTreeError);
    expect(await deps.ledger.head()).toBe(before);
    expect(readFileSync(join(repo, 'python/train.py'), 'utf8')).toBe(edited);
    expect(await executor.pending()).toEqual([]);
    expect(existsSync(deps.resultsPath)).toBe(false);
  });

  it('checks results.tsv against the council before anything runs', async () => {
    const { deps, executor } = await setup();
    writeFileSync(deps.resultsPath, `${header(['yoda', 'windu']).join('\t')}\n`);
    const error = await runLoop(deps, { maxExperiments: 1, deadline: new Date(Date.now() + 3600_000), mode: 'proxy', signal: never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultsFileError);
    expect((error as Error).message).toMatch(/has the agent columns yoda, windu but the council has yoda, jocasta, windu, quigon, cilghal, mundi/);
    await expect(runSingle(deps, { mode: 'proxy', baseline: true, skipPrepare: false, signal: never })).rejects.toThrow(ResultsFileError);
    expect(await executor.pending()).toEqual([]);
    expect(await deps.redis.exists(`${deps.redisPrefix}:planner:lease`)).toBe(0);
  });

  it('a bad value in the committed section is reported with the file, the commit and the value', async () => {
    const { deps, repo, executor } = await setup();
    const source = deps.ledger.readTrainPy().replace(/^LORA_RANK = \d+$/m, 'LORA_RANK = 9999');
    writeFileSync(join(repo, 'python/train.py'), source);
    gitIn(repo, 'commit', '-qam', 'hand edit out of range');
    const head = gitIn(repo, 'rev-parse', 'HEAD').trim();
    const error = await runSingle(deps, { mode: 'proxy', baseline: false, skipPrepare: false, signal: never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SectionError);
    expect((error as Error).message).toBe(`${repo}/python/train.py at ${head.slice(0, 12)}: LORA_RANK: expected a whole number from 8 to 64, got 9999`);
    expect(await executor.pending()).toEqual([]);
  });

  it('reconciles a commit nobody decided: a crash row, a memory event, and git back at the champion', async () => {
    const { log, lines } = captured();
    const { deps, repo } = await setup({ log });
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
    expect(lines.find((l) => l.experimentId === 'exp-lost' && /recorded a crash row/.test(l.msg))).toMatchObject({ commit: lost.commit, parent: champion });
    // A second start finds nothing to reconcile and writes nothing.
    await runLoop(deps, { maxExperiments: 1, deadline: soon(), mode: 'proxy', signal: never });
    expect(readResults(deps.resultsPath).rows).toHaveLength(1);
  });

  it('reconcile after a crash between git commit and update-ref: the ref is created and the crash logged', async () => {
    const { log, lines } = captured();
    const { deps, repo } = await setup({ log });
    await deps.ledger.ensureBranch();
    const champion = await deps.ledger.head();
    const source = deps.ledger.readTrainPy();
    writeFileSync(join(repo, 'python/train.py'), deps.section.write(source, { ...deps.section.read(source, deps.spaces.proxy), LORA_RANK: 16, EXPERIMENT_HYPOTHESIS: 'rank 16' }, deps.spaces.proxy));
    // What an earlier planner left when it died after `git commit` and before `update-ref`.
    gitIn(repo, 'commit', '-qam', 'experiment exp-norefs: rank 16\n\nrank 16\n\nChanges: LORA_RANK 32 -> 16\n\nAutoresearch-Experiment: exp-norefs');
    const crashed = gitIn(repo, 'rev-parse', 'HEAD').trim();
    const summary = await runLoop(deps, { maxExperiments: 1, deadline: soon(), mode: 'proxy', signal: never });
    expect(summary.rows.map((r) => [r.experimentId, r.result, r.commit])).toEqual([['exp-norefs', 'crash', crashed]]);
    expect(gitIn(repo, 'rev-parse', 'refs/autoresearch/experiments/exp-norefs').trim()).toBe(crashed);
    expect(gitIn(repo, 'rev-parse', 'HEAD').trim()).toBe(champion);
    expect(lines.some((l) => l.experimentId === 'exp-norefs' && /without its ref/.test(l.msg))).toBe(true);
    expect(lines.some((l) => l.experimentId === 'exp-norefs' && /recorded a crash row/.test(l.msg))).toBe(true);
  });

  it("a baseline recorded while an experiment is in flight carries the champion's section, not the experiment's", async () => {
    const { deps } = await setup();
    await deps.ledger.ensureBranch();
    const champion = await deps.ledger.head();
    const championValues = deps.section.read(deps.ledger.readTrainPy(), deps.spaces.proxy);
    const source = deps.ledger.readTrainPy();
    await deps.ledger.commitExperiment('exp-flight', 'rank 16 helps', 'Changes: LORA_RANK 32 -> 16', deps.section.write(source, { ...championValues, LORA_RANK: 16, EXPERIMENT_HYPOTHESIS: 'rank 16 helps' }, deps.spaces.proxy));
    const request = await baselineRequest(deps, 'proxy', null);
    expect(request.commit).toBe(champion);
    expect(request.values).toEqual(championValues);
  });

  it('fencing: a planner that lost its lease while planning commits nothing', async () => {
    const { deps, repo, redis } = await setup();
    await deps.ledger.ensureBranch();
    const before = await deps.ledger.head();
    const key = `${deps.redisPrefix}:planner:lease`;
    const lease = await PlannerLease.acquire(redis, key, 60_000);
    cleanups.push(() => lease.release());
    const offline = deps.planner;
    // Another planner takes the key while this one waits for its proposal (a long pause, a partition).
    const thief = { name: 'offline', propose: async (...args: Parameters<typeof offline.propose>) => {
      await redis.set(key, 'other-host:1:abcdef12', 'PX', 60_000);
      return offline.propose(...args);
    } };
    const error = await planExperiment({ ...deps, planner: thief, fence: () => lease.assertHeld() }, 'exp-fenced', 'proxy', 'proxy', never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect((error as Error).message).toMatch(/another planner's token \(other-host:1:abcdef12\)/);
    expect(lease.lost.aborted).toBe(true);
    expect(await deps.ledger.head()).toBe(before);
    expect(await deps.ledger.experimentRef('exp-fenced')).toBeNull();
    expect(gitIn(repo, 'status', '--porcelain')).toBe('');
    expect(runExitCode({ abandoned: null, leaseLost: true })).toBe(LEASE_LOST_EXIT_CODE);
  });

  it('fencing: a planner that lost its lease while waiting records no row and reverts nothing', async () => {
    const { deps, redis } = await setup();
    await deps.ledger.ensureBranch();
    const source = deps.ledger.readTrainPy();
    const values = { ...deps.section.read(source, deps.spaces.proxy), LORA_RANK: 16, EXPERIMENT_HYPOTHESIS: 'rank 16' };
    const commit = await deps.ledger.commitExperiment('exp-late', 'rank 16', 'Changes: LORA_RANK 32 -> 16', deps.section.write(source, values, deps.spaces.proxy));
    const key = `${deps.redisPrefix}:planner:lease`;
    const lease = await PlannerLease.acquire(redis, key, 60_000);
    cleanups.push(() => lease.release());
    await redis.set(key, 'other-host:2:abcdef12', 'PX', 60_000);
    const request = { experimentId: 'exp-late', kind: 'experiment' as const, mode: 'proxy' as const, commit: commit.commit, values };
    const execution = { experimentId: 'exp-late', mode: 'proxy' as const, modeReason: 'requested', model: 'tiny', training: null, adapterSha256: null, adapterPath: null, eval: null, evalRunDir: null };
    const verdict = judge(request, execution, null, deps);
    await expect(record({ ...deps, fence: () => lease.assertHeld() }, request, execution, verdict, { hypothesis: 'rank 16', changes: null })).rejects.toThrow(LeaseLostError);
    expect(existsSync(deps.resultsPath)).toBe(false);
    expect(await deps.ledger.head()).toBe(commit.commit);
    expect(existsSync(join(deps.memoryEventsDir, 'autoresearch-exp-late.md'))).toBe(false);
    // The planner that holds the lease now records it, once.
    await record(deps, request, execution, verdict, { hypothesis: 'rank 16', changes: null });
    expect(readResults(deps.resultsPath).rows.map((r) => [r.experimentId, r.result])).toEqual([['exp-late', 'crash']]);
  });

  it("a planner's hypothesis that is not clean text becomes an invalid row; nothing is committed", async () => {
    const { deps, repo } = await setup();
    await deps.ledger.ensureBranch();
    const before = await deps.ledger.head();
    const offline = deps.planner;
    const planner = { name: 'offline', propose: async (...args: Parameters<typeof offline.propose>) => {
      const outcome = await offline.propose(...args);
      return outcome.kind === 'proposal' ? { ...outcome, proposal: { ...outcome.proposal, hypothesis: 'rank up\u0000 and a lone \ud800' } } : outcome;
    } };
    const step = await planExperiment({ ...deps, planner }, 'exp-nul', 'proxy', 'proxy', never);
    expect(step.kind).toBe('invalid');
    expect(await deps.ledger.head()).toBe(before);
    expect(gitIn(repo, 'status', '--porcelain')).toBe('');
    const rows = readResults(deps.resultsPath).rows;
    expect(rows.map((r) => [r.experimentId, r.result, r.commit, r.hypothesis])).toEqual([['exp-nul', 'invalid', null, 'rank up\ufffd and a lone \ufffd']]);
    expect(rows[0]!.reasons[0]).toMatch(/hypothesis was refused: contains a lone surrogate/);
  });

  it('fault drill: a Redis restart overlapping a lease renewal does not end the run', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-redis-drill-'));
    const port = await freePort();
    let server = await startRedisServer({ port, dataDir });
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }), () => server.stop());
    const { log, lines } = captured();
    // The planner's own connection as `run` makes it (research-wiring.ts).
    const redis = producerConnection(server.url, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
    redis.on('error', () => undefined);
    const { deps } = await setup({ url: server.url, redis, leaseTtlMs: 20_000, log });
    const controller = new AbortController();
    let queued = 0;
    deps.onProgress = (p) => {
      if (p.stage === 'queued') queued += 1;
    };
    const running = runLoop(deps, { maxExperiments: 1, deadline: new Date(Date.now() + 3600_000), mode: 'proxy', signal: controller.signal });
    const until = async (what: string, test: () => boolean) => {
      for (let i = 0; i < 600 && !test(); i += 1) await new Promise((r) => setTimeout(r, 100));
      if (!test()) throw new Error(`timed out waiting for ${what}`);
    };
    await until('the baseline to wait in the queue', () => queued > 0);
    await server.stop();
    await until('a renewal to fail', () => lines.some((l) => /could not renew the planner lease/.test(l.msg)));
    server = await startRedisServer({ port, dataDir });
    await until('a renewal to succeed again', () => lines.some((l) => /planner lease renewed/.test(l.msg)));
    controller.abort(new Error('interrupted by SIGINT'));
    const summary = await running;
    expect(summary.leaseLost).toBe(false);
    expect(summary.stoppedBecause).toBe('interrupted during the baseline (interrupted by SIGINT)');
    expect(runExitCode(summary)).toBe(130);
    expect(lines.some((l) => l.level >= 50)).toBe(false);
  });

  it('a lease that cannot be renewed within its TTL is lost, with the reason, and the run exits 75', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-redis-drill-'));
    const port = await freePort();
    let server = await startRedisServer({ port, dataDir });
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }), () => server.stop());
    const { log, lines } = captured();
    const redis = producerConnection(server.url, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
    redis.on('error', () => undefined);
    const { deps } = await setup({ url: server.url, redis, leaseTtlMs: 3_000, log });
    let queued = 0;
    deps.onProgress = (p) => {
      if (p.stage === 'queued') queued += 1;
    };
    const running = runLoop(deps, { maxExperiments: 1, deadline: new Date(Date.now() + 3600_000), mode: 'proxy', signal: never });
    for (let i = 0; i < 600 && queued === 0; i += 1) await new Promise((r) => setTimeout(r, 100));
    await server.stop();
    const summary = await running;
    expect(summary.leaseLost).toBe(true);
    expect(summary.stoppedBecause).toMatch(/^interrupted during the baseline \(could not renew the planner lease .* within its 3 s TTL/);
    expect(summary.abandoned).toMatch(/^base-proxy-/);
    expect(runExitCode(summary)).toBe(LEASE_LOST_EXIT_CODE);
    expect(lines.some((l) => l.level === 50 && /within its 3 s TTL/.test(l.msg))).toBe(true);
    // Back up, so the executor's connections close cleanly.
    server = await startRedisServer({ port, dataDir });
  });

  it('never starts what cannot finish before the deadline, and stops at once when interrupted', async () => {
    const { deps, executor } = await setup();
    const before = await deps.ledger.head();
    const summary = await runLoop(deps, { maxExperiments: 3, deadline: soon(), mode: 'proxy', signal: never });
    expect(summary).toEqual({ rows: [], stoppedBecause: 'no time left for a baseline before the deadline', abandoned: null, leaseLost: false });
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
    expect(summary.stoppedBecause).toBe('interrupted during the baseline (interrupted by SIGINT)');
    expect(summary.abandoned).toMatch(/^base-proxy-/);
    expect((await executor.pending()).map((r) => r.experimentId)).toEqual([summary.abandoned]);
    expect(readResults(deps.resultsPath).rows).toEqual([]);
    expect(await deps.redis.exists(`${deps.redisPrefix}:planner:lease`)).toBe(0);
  });
});
