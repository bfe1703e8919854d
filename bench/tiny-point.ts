import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../src/config/load.js';
import { runEvaluation } from '../src/eval/run.js';
import type { EvalSummary } from '../src/eval/summary.js';
import type { HyperParameters, SearchSpace } from '../src/research/hyperparameters.js';
import { writeSection } from '../src/research/section.js';
import { prepareDataset } from '../src/train/prepare.js';
import { runTrainer, TRAIN_PY } from '../src/train/runner.js';

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
