import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/load.js';
import { startModelServer, withModelServer } from '../../src/eval/model-server.js';
import { pairedComparison } from '../../src/eval/paired.js';
import { readRecords, readSummary } from '../../src/eval/records.js';
import { rescore, runEvaluation, type EvalRun } from '../../src/eval/run.js';
import { PROJECT_ROOT, venvPython } from '../../src/project.js';
import { mlxEnv } from '../../src/train/mlx-env.js';
import { ensureTinyModel } from '../../src/train/tiny-model.js';

/**
 * The eval end to end on the real mlx_lm.server and the tiny model. Replies are capped at a few tokens: the point
 * is the pipeline (serving, adapters, determinism, records, process lifecycle), and short replies keep three
 * full-suite runs inside a minute or two on two cores.
 */
const dir = mkdtempSync(join(tmpdir(), 'eval-it-'));
let model = '';
let adapter = '';
let config: Config;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** A LoRA adapter trained by mlx_lm's own CLI for a few steps on one repeated reply, so it visibly moves the output. */
async function trainAdapter(out: string): Promise<void> {
  const data = join(dir, 'lora-data');
  mkdirSync(data, { recursive: true });
  const row = JSON.stringify({
    messages: [
      { role: 'user', content: 'Who are you?' },
      { role: 'assistant', content: 'Mace Windu. Security is my charge.' },
    ],
  });
  writeFileSync(join(data, 'train.jsonl'), `${Array.from({ length: 8 }, () => row).join('\n')}\n`);
  writeFileSync(join(data, 'valid.jsonl'), `${row}\n`);
  await execa(
    venvPython(),
    ['-m', 'mlx_lm.lora', '--model', model, '--train', '--data', data, '--adapter-path', out, '--iters', '12', '--batch-size', '1',
      '--num-layers', '4', '--learning-rate', '5e-3', '--val-batches', '1', '--steps-per-eval', '1000', '--steps-per-report', '1000', '--seed', '0'],
    { env: mlxEnv(), extendEnv: false, stdin: 'ignore' },
  );
}

beforeAll(async () => {
  model = (await ensureTinyModel({ councilDir: join(PROJECT_ROOT, 'council'), stateDir: join(PROJECT_ROOT, '.autoresearch') })).modelDir;
  adapter = join(dir, 'adapter');
  await trainAdapter(adapter);
  config = parseConfig(
    [
      `council: { dir: ${JSON.stringify(join(PROJECT_ROOT, 'council'))} }`,
      `paths: { state: ${JSON.stringify(join(dir, 'state'))} }`,
      'eval: { maxTokens: 12, concurrency: 2, serverStartTimeoutMs: 120000, requestTimeoutMs: 60000 }',
    ].join('\n'),
    { file: null, baseDir: dir, env: {} },
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runEvaluation on mlx_lm.server with the tiny model', () => {
  let first: EvalRun;
  let base: EvalRun;

  it('runs the full suite with an adapter, writes records and a summary, and stops the server', async () => {
    const pids: number[] = [];
    const progress: number[] = [];
    first = await runEvaluation({ config, model, adapterPath: adapter, onServerSpawn: (p) => pids.push(p), onProgress: (p) => progress.push(p.done) });
    expect(pids).toHaveLength(1);
    expect(alive(pids[0]!)).toBe(false);
    const records = readRecords(first.dir);
    expect(records.length).toBe(first.summary.nCases);
    expect(records.length).toBeGreaterThanOrEqual(61);
    expect(progress.at(-1)).toBe(records.length);
    const r = records[0]!;
    expect((r.request.messages as Array<{ role: string }>)[0]!.role).toBe('system');
    expect(r.request).toMatchObject({ temperature: 0, seed: 0, max_tokens: 12 });
    expect(r.request).not.toHaveProperty('model');
    expect(r.assertions.length).toBeGreaterThan(0);
    expect(readSummary(first.dir)).toEqual(first.summary);
    expect(first.summary.adapterSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(first.summary.perAgent)).toEqual(['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi']);
  });

  it('gives identical per-case replies when the same adapter is evaluated again: serially, through eval.endpoint', async () => {
    const again = await withModelServer({ model, adapterPath: adapter, maxTokens: 12, startTimeoutMs: 120_000 }, (server) =>
      runEvaluation({ config: { ...config, eval: { ...config.eval, endpoint: { url: server.url } } }, model, concurrency: 1 }),
    );
    const a = readRecords(first.dir);
    const b = readRecords(again.dir);
    expect(b.map((r) => r.parsed)).toEqual(a.map((r) => r.parsed));
    expect(again.summary.cases).toEqual(first.summary.cases);
    const paired = pairedComparison(again.summary, first.summary);
    expect([paired.wins, paired.losses, paired.pValue]).toEqual([0, 0, 1]);
  });

  it('serves different output without the adapter (the server does not ignore --adapter-path)', async () => {
    base = await runEvaluation({ config, model });
    expect(base.summary.adapterSha256).toBeNull();
    const withAdapter = readRecords(first.dir);
    const without = readRecords(base.dir);
    const changed = without.filter((r, i) => r.parsed.content !== withAdapter[i]!.parsed.content);
    expect(changed.length).toBeGreaterThan(without.length / 2);
    const paired = pairedComparison(first.summary, base.summary);
    // The Council compares the dev split only; holdout cases are scored but never paired.
    const dev = base.summary.cases.filter((c) => c.split === 'dev').length;
    expect(paired.matched).toBe(dev);
    expect(paired.wins + paired.losses + paired.ties).toBe(dev);
  });

  it('rescores a run from its records to the same scores, without a server', () => {
    const rescored = rescore(first.dir);
    expect(rescored.dir).not.toBe(first.dir);
    expect(rescored.summary.cases).toEqual(first.summary.cases);
    expect(rescored.summary.overall).toBe(first.summary.overall);
  });
});

describe('model server lifecycle', () => {
  it('stops the server when the work fails', async () => {
    let pid = 0;
    await expect(
      withModelServer({ model, maxTokens: 4, startTimeoutMs: 120_000, onSpawn: (p) => (pid = p) }, async () => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('fails start-up with the server output on a bad adapter, leaving no process', async () => {
    let pid = 0;
    const missing = join(dir, 'no-adapter');
    await expect(startModelServer({ model, adapterPath: missing, maxTokens: 4, startTimeoutMs: 120_000, onSpawn: (p) => (pid = p) })).rejects.toThrow(
      /mlx_lm\.server/,
    );
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('stops the server and writes no run when the evaluation is aborted', async () => {
    const controller = new AbortController();
    let pid = 0;
    const before = readdirSync(join(dir, 'state', 'evals')).length;
    await expect(
      runEvaluation({
        config,
        model,
        signal: controller.signal,
        onServerSpawn: (p) => (pid = p),
        onProgress: (p) => {
          if (p.done >= 2) controller.abort(new Error('stop now'));
        },
      }),
    ).rejects.toThrow('stop now');
    expect(alive(pid)).toBe(false);
    expect(readdirSync(join(dir, 'state', 'evals')).length).toBe(before);
    expect(existsSync(join(dir, 'state', 'evals'))).toBe(true);
  });
});
