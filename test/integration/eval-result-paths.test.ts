import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { evalResultSchema } from '../../queues/contracts.js';
import { createFleetExecutor } from '../../queues/executor.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { parseConfig } from '../../src/config/load.js';
import { readLocalEvalRun } from '../../src/eval/run-folder.js';
import type { EvalSummary } from '../../src/eval/summary.js';
import { archiveExperiment } from '../../src/research/artifacts.js';
import type { ExperimentExecution, ExperimentRequest } from '../../src/research/executor.js';
import { uniquePrefix } from '../support/redis.js';

const summary = (runId: string, overall: number): EvalSummary => ({
  runId,
  createdAt: '2026-12-01T02:15:00.000Z',
  model: 'tiny',
  adapterSha256: null,
  suiteSha256: 'b'.repeat(64),
  nCases: 1,
  overall,
  jailbreak: 1,
  perAgent: { yoda: overall },
  perCategory: { identity: overall, tool: 1, domain: 1, isolation: 1, jailbreak: 1 },
  cells: { yoda: { identity: overall, tool: 1, domain: 1, isolation: 1, jailbreak: 1 } },
  cases: [{ id: 'yoda-identity-1', agent: 'yoda', category: 'identity', score: overall, pass: true, split: 'dev' }],
  holdout: null,
  seconds: 1,
});

function writeRun(dir: string, runId: string, overall = 0.5): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary(runId, overall)));
  writeFileSync(join(dir, 'records.jsonl'), '{}\n');
}

describe('paths from Redis are never acted on (eval results)', () => {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-paths-'));
  // Stands for ~/.ssh: a folder the planner's user can read and that must never end up in logs/.
  const secrets = join(root, 'home', '.ssh');
  mkdirSync(secrets, { recursive: true });
  writeFileSync(join(secrets, 'id_ed25519'), 'PRIVATE KEY');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const paths = { adaptersExperimental: join(root, 'adapters-experimental'), logs: join(root, 'logs'), stableAdapter: join(root, 'stable') };
  const execution = (experimentId: string, evalRunDir: string) =>
    ({ experimentId, mode: 'proxy', modeReason: 'requested', model: 'tiny', training: null, adapterSha256: null, adapterPath: null, eval: null, evalRunDir }) as ExperimentExecution;

  it('the executor builds the eval folder from the run id under its own <state>/evals and ignores any runDir or scores in Redis', async () => {
    const prefix = uniquePrefix('paths');
    const state = join(root, 'state');
    const config = parseConfig(`paths: { state: ${state} }\nredis: { prefix: ${prefix}, embedded: false }\n`, { file: null, baseDir: root, env: {} });
    writeRun(join(state, 'evals', 'eval-local-1'), 'eval-local-1', 0.5);
    const redis = new Redis(inject('redisUrl'));
    const executor = createFleetExecutor(config, inject('redisUrl'), { pollMs: 50 });
    try {
      const store = new ExperimentStore(redis, prefix);
      const request = { experimentId: 'exp-hostile', kind: 'baseline', mode: 'proxy', commit: 'abc1234', values: {} } as unknown as ExperimentRequest;
      await store.create(request, { mode: 'proxy', modeReason: 'requested', model: 'tiny' });
      // What a holder of the worker password could write as the eval job's result.
      const hostile = { runId: 'eval-local-1', runDir: secrets, machine: 'mini', summary: summary('eval-local-1', 1) };
      await store.compareAndSet('exp-hostile', { stage: 'enqueueing' }, { stage: 'done', result: JSON.stringify(hostile) });
      const done = await executor.wait('exp-hostile', {});
      expect(done.evalRunDir).toBe(join(state, 'evals', 'eval-local-1'));
      expect(done.eval?.overall).toBe(0.5);

      await store.create({ ...request, experimentId: 'exp-escape' }, { mode: 'proxy', modeReason: 'requested', model: 'tiny' });
      await store.compareAndSet('exp-escape', { stage: 'enqueueing' }, { stage: 'done', result: JSON.stringify({ runId: '../../home/.ssh', machine: 'mini' }) });
      await expect(executor.wait('exp-escape', {})).rejects.toThrow(/runId/);
    } finally {
      await executor.close();
      redis.disconnect();
    }
  });

  it('refuses run ids that are paths, and run folders or summaries that are links', () => {
    expect(evalResultSchema.safeParse({ runId: '..', machine: 'mini' }).success).toBe(false);
    expect(evalResultSchema.safeParse({ runId: 'a/b', machine: 'mini' }).success).toBe(false);
    const state = join(root, 'state-links');
    mkdirSync(join(state, 'evals'), { recursive: true });
    symlinkSync(secrets, join(state, 'evals', 'eval-linked'));
    expect(() => readLocalEvalRun(state, 'eval-linked')).toThrow(/not a real folder/);
    const run = join(state, 'evals', 'eval-link-summary');
    mkdirSync(run);
    symlinkSync(join(secrets, 'id_ed25519'), join(run, 'summary.json'));
    expect(() => readLocalEvalRun(state, 'eval-link-summary')).toThrow(/regular file/);
    writeRun(join(state, 'evals', 'eval-other'), 'eval-someone-else');
    expect(() => readLocalEvalRun(state, 'eval-other')).toThrow(/describes run eval-someone-else/);
  });

  it('archiving copies regular files only: a link to ~/.ssh and a link loop are skipped and listed, and the record completes', () => {
    const run = join(root, 'state', 'evals', 'eval-with-links');
    writeRun(run, 'eval-with-links');
    symlinkSync(secrets, join(run, 'ssh'));
    symlinkSync(join(secrets, 'id_ed25519'), join(run, 'key'));
    mkdirSync(join(run, 'nested'));
    symlinkSync(run, join(run, 'nested', 'loop'));
    const archived = archiveExperiment(paths, execution('exp-links', run));
    const copied = join(archived.logDir, 'eval');
    expect(readdirSync(copied).sort()).toEqual(['nested', 'records.jsonl', 'summary.json']);
    expect(readdirSync(join(copied, 'nested'))).toEqual([]);
    const skipped = JSON.parse(readFileSync(join(archived.logDir, 'archive-skipped.json'), 'utf8')) as Array<{ path: string }>;
    expect(skipped.map((s) => s.path).sort()).toEqual(['key', 'nested/loop', 'ssh']);
    // A restarted planner archives again without throwing.
    expect(archiveExperiment(paths, execution('exp-links', run))).toEqual(archived);
  });

  it('archiving an eval run folder that is itself a link copies nothing', () => {
    const link = join(root, 'state', 'evals', 'eval-is-link');
    symlinkSync(secrets, link);
    const archived = archiveExperiment(paths, execution('exp-linked-run', link));
    expect(existsSync(join(archived.logDir, 'eval'))).toBe(false);
  });
});
