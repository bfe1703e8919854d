import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/project.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import { BEGIN_MARKER, END_MARKER, writeSection } from '../../src/research/section.js';
import { prepareDataset } from '../../src/train/prepare.js';
import { runTrainer, type TrainJob } from '../../src/train/runner.js';
import { ensureTinyModel } from '../../src/train/tiny-model.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const dir = mkdtempSync(join(tmpdir(), 'runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Alive and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** A stand-in for train.py with a valid section, for process behaviour real training cannot produce on cue. */
function script(name: string, body: string): string {
  const source = `import json, os, signal, subprocess, sys, time\n${BEGIN_MARKER}\n${END_MARKER}\n${body}\n`;
  const file = join(dir, `${name}.py`);
  writeFileSync(file, writeSection(source, baselineValues(AGENTS), AGENTS));
  return file;
}

const PROGRESS = `print(json.dumps({"event": "progress", "iteration": 1, "train_loss": 3.0, "learning_rate": 1e-5, "tokens_per_second": 1.0, "peak_memory_gb": 0.1, "elapsed_seconds": 0.1, "eta_seconds": 5.0}), flush=True)`;
const JOB: TrainJob = { model: 'unused', dataDir: dir, outDir: join(dir, 'out'), budgetSeconds: 60, seed: 0 };

describe('runTrainer process handling', () => {
  it('cancellation kills train.py and its children', async () => {
    const trainPy = script('grandchild', [
      'child = subprocess.Popen(["sleep", "300"])',
      'print(f"grandchild {child.pid}", file=sys.stderr, flush=True)',
      PROGRESS,
      'time.sleep(300)',
    ].join('\n'));
    const controller = new AbortController();
    let grandchild = 0;
    const outcome = await runTrainer(JOB, {
      trainPy,
      graceSeconds: 60,
      killAfterMs: 2_000,
      signal: controller.signal,
      onStderr: (line) => {
        const match = /^grandchild (\d+)$/.exec(line);
        if (match) grandchild = Number(match[1]);
      },
      onProgress: () => controller.abort(),
    });
    expect(outcome.status).toBe('canceled');
    expect(grandchild).toBeGreaterThan(0);
    expect(running(grandchild)).toBe(false);
  });

  it('a process that dies without a result line is crashed', async () => {
    const outcome = await runTrainer(JOB, { trainPy: script('crash', `${PROGRESS}\nos.abort()`), graceSeconds: 60 });
    expect(outcome.status).toBe('crashed');
    expect(outcome.signal).toBe('SIGABRT');
  });

  it('a process that outlives budget and grace is a timeout, SIGKILLed if it ignores SIGTERM', async () => {
    const trainPy = script('hang', 'signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("ignoring SIGTERM", file=sys.stderr, flush=True)\ntime.sleep(300)');
    const outcome = await runTrainer({ ...JOB, budgetSeconds: 1 }, { trainPy, graceSeconds: 1, killAfterMs: 1_000 });
    expect(outcome.status).toBe('timeout');
    expect(outcome.signal).toBe('SIGKILL');
  });

  it('a bad section is refused before anything runs', async () => {
    const trainPy = join(dir, 'bad.py');
    writeFileSync(trainPy, readFileSync(script('ok', 'pass'), 'utf8').replace('ITERS = 120', 'ITERS = 5000'));
    const outcome = await runTrainer(JOB, { trainPy, graceSeconds: 1 });
    expect(outcome.status).toBe('bad-config');
    expect(outcome.message).toMatch(/ITERS/);
    expect(outcome.exitCode).toBeUndefined();
  });
});

describe('runTrainer with the real train.py on the tiny model', () => {
  let model = '';
  let dataDir = '';
  let trainPy = '';

  beforeAll(async () => {
    model = (await ensureTinyModel({ councilDir: join(PROJECT_ROOT, 'council'), stateDir: join(PROJECT_ROOT, '.autoresearch') })).modelDir;
    const copy = join(dir, 'python');
    mkdirSync(copy, { recursive: true });
    copyFileSync(join(PROJECT_ROOT, 'python', 'hparams.py'), join(copy, 'hparams.py'));
    cpSync(join(PROJECT_ROOT, 'python', 'search-spaces'), join(copy, 'search-spaces'), { recursive: true });
    trainPy = join(copy, 'train.py');
    const values = { ...baselineValues(AGENTS), ITERS: 1200, GRAD_ACCUM: 2, LEARNING_RATE: 1e-4, EXPERIMENT_HYPOTHESIS: 'runner test: the budget stops a long run' };
    writeFileSync(trainPy, writeSection(readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8'), values, AGENTS));
    dataDir = (await prepareDataset({ councilDir: join(PROJECT_ROOT, 'council'), trainPy, datasetsRoot: join(dir, 'datasets'), seed: 0 })).datasetDir;
  });

  it('the budget stops a 1200-iteration run, and the adapter is saved', async () => {
    const progress: number[] = [];
    const outDir = join(dir, 'adapter');
    const outcome = await runTrainer(
      { model, dataDir, outDir, budgetSeconds: 20, seed: 0, batchSize: 1, valBatches: 4 },
      { trainPy, graceSeconds: 60, agentIds: AGENTS, onProgress: (e) => progress.push(e.iteration) },
    );
    expect(outcome.status, outcome.message).toBe('budget');
    const result = outcome.result!;
    expect(result.iterations).toBeGreaterThan(0);
    expect(result.iterations).toBeLessThan(1200);
    // Loose on purpose: on a loaded 2-core machine one step can take seconds; 'budget' rather than 'timeout' is the point.
    expect(result.seconds).toBeLessThan(20 + 40);
    expect(progress.length).toBeGreaterThan(0);
    const adapter = readFileSync(join(outDir, 'adapters.safetensors'));
    expect(createHash('sha256').update(adapter).digest('hex')).toBe(result.adapter_sha256);
    expect(JSON.parse(readFileSync(join(outDir, 'adapter_config.json'), 'utf8')).num_layers).toBe(4);
  });

  it('aborting a real run ends it promptly as canceled', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const outcome = await runTrainer(
      { model, dataDir, outDir: join(dir, 'canceled'), budgetSeconds: 300, seed: 0, batchSize: 1, valBatches: 1 },
      { trainPy, graceSeconds: 60, killAfterMs: 3_000, signal: controller.signal, onProgress: () => controller.abort() },
    );
    expect(outcome.status).toBe('canceled');
    expect(Date.now() - started).toBeLessThan(120_000);
  });
});
