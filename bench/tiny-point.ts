import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config/load.js';
import { loadCouncil } from '../src/council/load.js';
import { runEvaluation } from '../src/eval/run.js';
import type { EvalSummary } from '../src/eval/summary.js';
import { PROJECT_ROOT } from '../src/project.js';
import { searchSpace, type HyperParameters, type SearchSpace } from '../src/research/hyperparameters.js';
import { writeSection } from '../src/research/section.js';
import { prepareDataset } from '../src/train/prepare.js';
import { runTrainer, TRAIN_PY } from '../src/train/runner.js';
import { mean } from '../src/stats/averages.js';
import { ensureTinyModel, type TinyModel } from '../src/train/tiny-model.js';

/** Where and how the tiny-model benchmarks train: one model, one search space, one budget. */
export interface TinyBench {
  config: Config;
  modelDir: string;
  agents: readonly string[];
  space: SearchSpace;
  budgetSeconds: number;
  /** Scratch folder; each point gets a subfolder. */
  work: string;
}

/**
 * The project's config, the tiny model (built if missing), its search space, the budget from
 * LANDSCAPE_BUDGET_SECONDS (default 45) and a scratch folder named after the benchmark under the state folder.
 * LANDSCAPE_BUILD_SEED builds the base model from another seed (default: models.training.seed, the model every
 * clone gets): a landscape belongs to one build, and how the design fares over builds is only seen across them.
 */
export async function openTinyBench(name: string): Promise<TinyBench & { built: TinyModel; buildSeed: number }> {
  const raw = process.env.LANDSCAPE_BUDGET_SECONDS ?? '45';
  const budgetSeconds = Number(raw);
  if (!Number.isFinite(budgetSeconds) || budgetSeconds < 5) throw new Error(`LANDSCAPE_BUDGET_SECONDS must be a number of seconds >= 5, got "${raw}"`);
  const config = loadConfig({ cwd: PROJECT_ROOT, env: { ...process.env, REDIS_URL: '' } });
  const buildSeed = parseBuildSeed(process.env.LANDSCAPE_BUILD_SEED, config.models.training.seed);
  const agents = loadCouncil(config.council.dir).agents.map((a) => a.id);
  // Each point's train.py is a copy outside python/; it imports hparams.py from there.
  process.env.PYTHONPATH = [join(PROJECT_ROOT, 'python'), process.env.PYTHONPATH].filter(Boolean).join(':');
  const built = await ensureTinyModel({ councilDir: config.council.dir, stateDir: config.paths.state, seed: buildSeed });
  const work = mkdtempSync(join(config.paths.state, `bench-${name}-`));
  return { config, modelDir: built.modelDir, agents, space: searchSpace('tiny'), budgetSeconds, work, built, buildSeed };
}

/** LANDSCAPE_BUILD_SEED as the tiny model's build seed: a whole number >= 0, or the default when unset or empty. */
export function parseBuildSeed(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`LANDSCAPE_BUILD_SEED must be a whole number >= 0 (a build seed of the tiny model), got "${raw}"`);
  return seed;
}

/** The parameters where `values` differs from `base`, as NAME=value (agent weights joined by "/"), or "-". */
export function describeChange(values: HyperParameters, base: HyperParameters): string {
  const diffs = Object.entries(values)
    .filter(([k, v]) => k !== 'EXPERIMENT_HYPOTHESIS' && JSON.stringify(v) !== JSON.stringify(base[k as keyof HyperParameters]))
    .map(([k, v]) => (typeof v === 'object' ? `${k}=${Object.values(v as Record<string, number>).join('/')}` : `${k}=${v}`));
  return diffs.join(' ') || '-';
}

/** Overall scores of one section over training seeds, with their mean and range: how both benchmarks state the noise. */
export function seedSpread(overalls: readonly number[]): string {
  return `${overalls.map((o) => o.toFixed(3)).join(', ')} (mean ${mean(overalls).toFixed(3)}, range ${(Math.max(...overalls) - Math.min(...overalls)).toFixed(3)})`;
}

export interface TrainedPoint {
  iterations: number;
  trainSeconds: number;
  /** "initial->final" validation loss. */
  valLoss: string;
  summary: EvalSummary;
}

/**
 * One section of the search space through the real pipeline: its own train.py (the section written by the
 * project's writer), prepare.py, train.py via runTrainer under the budget, then the council's suite through
 * mlx_lm.server with the adapter.
 */
export async function trainAndEvaluate(bench: TinyBench, name: string, values: HyperParameters, seed: number): Promise<TrainedPoint> {
  const { config, modelDir, agents, space } = bench;
  const dir = join(bench.work, name);
  mkdirSync(dir, { recursive: true });
  const trainPy = join(dir, 'train.py');
  writeFileSync(trainPy, writeSection(readFileSync(TRAIN_PY, 'utf8'), values, agents, space.table));
  const dataset = await prepareDataset({ councilDir: config.council.dir, trainPy, datasetsRoot: join(config.paths.state, 'datasets'), seed, searchSpace: space.name });
  const outcome = await runTrainer(
    {
      model: modelDir, dataDir: dataset.datasetDir, outDir: join(dir, 'adapter'), budgetSeconds: bench.budgetSeconds, seed,
      batchSize: config.models.training.batchSize, maxSeqLength: config.models.training.maxSeqLength,
      valBatches: config.models.training.valBatches, searchSpace: space.name,
    },
    { trainPy, graceSeconds: 120, agentIds: agents },
  );
  const result = outcome.result;
  if (!result?.adapter_path || (outcome.status !== 'ok' && outcome.status !== 'budget')) {
    throw new Error(`${name} did not train (${outcome.status}): ${outcome.message}`);
  }
  const run = await runEvaluation({ config, model: modelDir, adapterPath: result.adapter_path, adapterSha256: result.adapter_sha256 });
  const valLoss = `${result.initial_val_loss?.toFixed(2) ?? '-'}->${result.val_loss?.toFixed(2) ?? '-'}`;
  return { iterations: result.iterations, trainSeconds: result.seconds, valLoss, summary: run.summary };
}
