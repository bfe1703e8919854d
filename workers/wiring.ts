import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Config } from '../src/config/load.js';
import { runEvaluation } from '../src/eval/run.js';
import { writeFileAtomic } from '../src/fs/atomic.js';
import type { Logger } from '../src/log.js';
import { PROJECT_ROOT } from '../src/project.js';
import { searchSpace } from '../src/research/hyperparameters.js';
import { writeSection } from '../src/research/section.js';
import { runTrainer, TRAIN_PY } from '../src/train/runner.js';
import { resolveModel } from '../src/train/tiny-model.js';
import type { Evaluator, Trainer } from './contracts.js';

/**
 * The production trainer: the payload's values rendered into a copy of this checkout's python/train.py in the
 * job's run folder (the section writer validates them against the job's search space), then run by src/train/runner.ts.
 */
export function mlxTrainer(config: Config, log: Logger): Trainer {
  // The copy in the run folder still imports python/hparams.py; this process exists to run trainers.
  const pythonDir = join(PROJECT_ROOT, 'python');
  if (!(process.env.PYTHONPATH ?? '').split(delimiter).includes(pythonDir)) {
    process.env.PYTHONPATH = [pythonDir, process.env.PYTHONPATH].filter(Boolean).join(delimiter);
  }
  return async (request) => {
    const trainPy = join(request.runDir, 'train.py');
    const outDir = join(request.runDir, 'adapter');
    writeFileAtomic(trainPy, writeSection(readFileSync(TRAIN_PY, 'utf8'), request.values, undefined, searchSpace(request.searchSpace).table));
    const model = await resolveModel(request.model, { councilDir: config.council.dir, stateDir: config.paths.state });
    const mode = config.models[request.mode];
    let iters = Number(request.values.ITERS ?? 0);
    const outcome = await runTrainer(
      {
        model,
        dataDir: request.datasetDir,
        outDir,
        budgetSeconds: mode.budgetSeconds,
        seed: config.models.training.seed,
        maxSeqLength: config.models.training.maxSeqLength,
        batchSize: config.models.training.batchSize,
        valBatches: config.models.training.valBatches,
        searchSpace: request.searchSpace,
      },
      {
        graceSeconds: mode.graceSeconds,
        killAfterMs: config.fleet.killAfterMs,
        signal: request.signal,
        trainPy,
        log,
        onProgress: (event) => {
          if (event.event !== 'progress') return;
          iters = Math.max(iters, event.iteration);
          request.onProgress({ iteration: event.iteration, iters, trainLoss: event.train_loss, etaSeconds: event.eta_seconds });
        },
      },
    );
    const result = outcome.result;
    return {
      status: outcome.status,
      iterations: result?.iterations ?? 0,
      trainLoss: result?.train_loss ?? null,
      valLoss: result?.val_loss ?? null,
      initialValLoss: result?.initial_val_loss ?? null,
      seconds: outcome.seconds,
      tokensPerSecond: result?.tokens_per_second ?? null,
      peakMemoryGb: result?.peak_memory_gb ?? null,
      // Our own folder, not a path read from the child's output.
      adapterDir: result?.adapter_path ? outDir : null,
      message: outcome.message,
    };
  };
}

export function mlxEvaluator(config: Config, log: Logger): Evaluator {
  return (request) =>
    runEvaluation({
      config,
      model: request.model,
      adapterPath: request.adapterPath,
      adapterSha256: request.adapterSha256,
      signal: request.signal,
      onProgress: request.onProgress,
      log,
    });
}
