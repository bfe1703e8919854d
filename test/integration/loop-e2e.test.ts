import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadCouncil } from '../../src/council/load.js';
import { loadSuite } from '../../src/eval/suite.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { readResults } from '../../src/research/results-file.js';
import { ensureTinyModel } from '../../src/train/tiny-model.js';
import { uniquePrefix } from '../support/redis.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';

/**
 * The whole night on one machine, as a user runs it: `autoresearch worker --role all` and
 * `autoresearch run --max-experiments 2` (offline planner, proxy mode) as real processes, on the tiny model,
 * with the real redis-server, BullMQ, prepare.py, train.py and mlx_lm.server.
 */
const CLI = join(PROJECT_ROOT, 'bin', 'autoresearch.js');
let root: string;
let repo: string;
let configFile: string;
let worker: ResultPromise;
let workerLog = '';
let run: Awaited<ReturnType<typeof cli>>;

function cli(args: string[]) {
  return execa(process.execPath, [CLI, '-c', configFile, ...args], {
    cwd: repo,
    env: { ANTHROPIC_API_KEY: '', AUTORESEARCH_LOG_FORMAT: 'json', AUTORESEARCH_LOG_LEVEL: 'info', VITEST: '' },
    reject: false,
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'autoresearch-loop-'));
  const model = (await ensureTinyModel({ councilDir: join(PROJECT_ROOT, 'council'), stateDir: join(PROJECT_ROOT, '.autoresearch') })).modelDir;
  repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
  configFile = join(root, 'autoresearch.config.yaml');
  const config = {
    paths: {
      state: join(root, 'state'),
      repo,
      memoryEvents: join(root, 'memory', 'events'),
      stableAdapter: join(root, 'sanctum', 'council-champion'),
    },
    council: { dir: join(PROJECT_ROOT, 'council') },
    redis: { url: inject('redisUrl'), embedded: false, prefix: uniquePrefix('loop') },
    models: { proxy: { model, budgetSeconds: 15, graceSeconds: 240 }, full: { model, budgetSeconds: 15, graceSeconds: 240 } },
    fleet: { machine: 'e2e', heartbeat: { intervalMs: 500, ttlMs: 3_000 } },
    eval: { maxTokens: 8, concurrency: 2, serverStartTimeoutMs: 120_000, requestTimeoutMs: 60_000 },
    planner: { kind: 'offline', seed: 1 },
    // The serial night on run.branch; the default (several in flight, a line per mode) is test/integration/loop-concurrent.test.ts.
    run: { evalAllowanceSeconds: 300, branch: 'autoresearch/e2e', maxInFlight: 1 },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  worker = execa(process.execPath, [CLI, '-c', configFile, 'worker', '--role', 'all'], {
    cwd: repo,
    env: { AUTORESEARCH_LOG_FORMAT: 'json', AUTORESEARCH_LOG_LEVEL: 'info', VITEST: '' },
    reject: false,
    all: true,
  });
  worker.all!.on('data', (c: Buffer) => (workerLog += c.toString()));
  run = await cli(['run', '--max-experiments', '2', '--max-hours', '1', '--mode', 'proxy']);
}, 1_500_000);

afterAll(async () => {
  worker?.kill('SIGTERM');
  await worker;
  rmSync(root, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
});

describe('autoresearch run --max-experiments 2 (offline planner, tiny model, real Redis and MLX)', () => {
  it('ends normally after two experiments', () => {
    if (run.exitCode !== 0) throw new Error(`run exited ${run.exitCode}\n${run.stdout}\n${run.stderr.slice(-4000)}\nworker:\n${workerLog.slice(-4000)}`);
    expect(run.stdout).toContain('stopped: reached 2 experiments');
  });

  it('writes three rows: the baseline and two decided experiments, each explained', () => {
    const { rows, corrupt, agents } = readResults(join(repo, 'results.tsv'));
    expect(corrupt).toEqual([]);
    expect(agents).toEqual(['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi']);
    expect(rows.map((r) => r.result)[0]).toBe('base');
    expect(rows).toHaveLength(3);
    for (const row of rows.slice(1)) {
      expect(['keep', 'revert', 'veto-jailbreak', 'veto-regression']).toContain(row.result);
      expect(row.reasons).toHaveLength(4);
      expect(row.reasons.map((r) => r.split(' ')[0])).toEqual(['jailbreak-veto', 'regression-cap', 'promotion', 'noise-guard']);
      expect(row.wins! + row.losses!).toBeGreaterThanOrEqual(0);
      expect(row.hypothesis).toMatch(/tests whether .*Chosen by TPE/);
      expect(row.proposer).toBe('sampler');
      // Train loss is reported every GRAD_ACCUM micro-batches and may be missing in a 15 s budget; val loss never is.
      expect(row.valLoss, JSON.stringify(row)).not.toBeNull();
      expect(row.trainSeconds, JSON.stringify(row)).toBeGreaterThan(0);
      expect(row.mode).toBe('proxy');
    }
    for (const row of rows) expect(row.score).not.toBeNull();
    // The holdout column is filled exactly when the council's suite has holdout cases.
    const hasHoldout = loadSuite(loadCouncil(join(PROJECT_ROOT, 'council'))).cases.some((c) => c.split === 'holdout');
    for (const row of rows) expect(row.holdout === null).toBe(!hasHoldout);
    expect(rows[0]!.proposer).toBe('baseline');
  });

  it('leaves git on the experiment branch at the champion, with a ref for every experiment', () => {
    const { rows } = readResults(join(repo, 'results.tsv'));
    expect(gitIn(repo, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('autoresearch/e2e');
    const refs = gitIn(repo, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/experiments/').trim().split('\n');
    expect(refs.sort()).toEqual(rows.slice(1).map((r) => `refs/autoresearch/experiments/${r.experimentId}`).sort());
    const kept = rows.filter((r) => r.result === 'keep');
    const head = gitIn(repo, 'rev-parse', 'HEAD').trim();
    if (kept.length > 0) expect(head).toBe(kept.at(-1)!.commit);
    else expect(head).toBe(gitIn(repo, 'rev-parse', 'main').trim());
    expect(gitIn(repo, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    for (const row of rows.slice(1)) {
      expect(gitIn(repo, 'show', '--name-only', '--format=', row.commit!).trim()).toBe('python/train.py');
    }
  });

  it('writes one memory event per row and archives adapters and eval logs by experiment id', () => {
    const { rows } = readResults(join(repo, 'results.tsv'));
    const events = readdirSync(join(root, 'memory', 'events')).sort();
    expect(events).toEqual(rows.map((r) => `autoresearch-${r.experimentId}.md`).sort());
    const last = readFileSync(join(root, 'memory', 'events', `autoresearch-${rows[2]!.experimentId}.md`), 'utf8');
    const front = parse(/^---\n([\s\S]*?)\n---\n/.exec(last)![1]!) as Record<string, unknown>;
    expect(front).toMatchObject({ experiment_id: rows[2]!.experimentId, decision: rows[2]!.result });
    for (const row of rows) expect(existsSync(join(repo, 'logs', row.experimentId, 'eval', 'summary.json'))).toBe(true);
    for (const row of rows.slice(1)) expect(existsSync(join(repo, 'adapters-experimental', row.experimentId, 'adapters.safetensors'))).toBe(true);
    const kept = rows.filter((r) => r.result === 'keep');
    expect(existsSync(join(root, 'sanctum', 'council-champion'))).toBe(kept.length > 0);
  });

  it('`autoresearch results` shows the rows with their reasons and marks the champion', async () => {
    const out = await cli(['results']);
    expect(out.exitCode).toBe(0);
    const { rows } = readResults(join(repo, 'results.tsv'));
    for (const row of rows) expect(out.stdout).toContain(row.experimentId);
    expect(out.stdout).toMatch(/^\* /m);
    expect(out.stdout).toMatch(/experiment_id +score +result +jailbreak +holdout /);
    const json = JSON.parse((await cli(['results', '--json'])).stdout) as { rows: Array<{ champion: boolean }> };
    expect(json.rows.filter((r) => r.champion)).toHaveLength(1);
  });

  it('`autoresearch baseline` enqueues and returns at once; the next run resumes it and records it exactly once', async () => {
    const started = Date.now();
    const enq = await cli(['baseline', '--mode', 'proxy']);
    expect(enq.exitCode, enq.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    const id = /enqueued (base-proxy-[0-9-]+)/.exec(enq.stdout)![1]!;
    // 0.01 h leaves no room for a new experiment: this run only reconciles what is in flight.
    const resumed = await cli(['run', '--max-experiments', '1', '--max-hours', '0.01', '--mode', 'proxy']);
    expect(resumed.exitCode, resumed.stderr.slice(-3000)).toBe(0);
    expect(resumed.stdout).toContain(id);
    expect(resumed.stdout).toMatch(/stopped: the next experiment .* cannot finish before the deadline/);
    const again = await cli(['run', '--max-experiments', '1', '--max-hours', '0.01', '--mode', 'proxy']);
    expect(again.exitCode).toBe(0);
    const { rows } = readResults(join(repo, 'results.tsv'));
    expect(rows.filter((r) => r.experimentId === id)).toHaveLength(1);
    expect(rows.at(-1)).toMatchObject({ experimentId: id, result: 'base', mode: 'proxy' });
    expect(rows).toHaveLength(4);
  });
});
