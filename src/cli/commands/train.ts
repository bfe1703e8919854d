import { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { UsageError } from '../../errors.js';
import { checkAdapter } from '../../train/check-adapter.js';
import type { ProgressEvent, ValEvent } from '../../train/events.js';
import { prepareDataset } from '../../train/prepare.js';
import { runTrainer } from '../../train/runner.js';
import { resolveModel, TINY_MODEL } from '../../train/tiny-model.js';
import { commandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';

function fmt(n: number | null | undefined, digits = 3): string {
  return n === null || n === undefined ? '-' : n.toFixed(digits);
}

/** A Hugging Face id needs the network and, for the Qwen3.5 models, Apple silicon; neither is here on Linux. */
function runnableHere(model: string): boolean {
  return model === TINY_MODEL || process.platform === 'darwin' || isAbsolute(model) || existsSync(model);
}

/** `autoresearch train`: one training run of the repo's current train.py section, outside the research loop. */
export function trainCommand(): Command {
  return new Command('train')
    .description("train one LoRA adapter with the repo's python/train.py section, then load it with mlx_lm to check it")
    .option('--budget <seconds>', 'wall-clock budget (default: models.<mode>.budgetSeconds)')
    .option('--model <model>', 'base model: a folder, a Hugging Face id, or "tiny" (default: models.<mode>.model; the tiny model where that cannot run)')
    .option('--mode <mode>', 'which configured model and budget to use: proxy or full', 'proxy')
    .option('--json', 'print the result as JSON')
    .action(async (options: { budget?: string; model?: string; mode: string; json?: boolean }, command: Command) => {
      const ctx = commandContext(command, 'train');
      if (options.mode !== 'proxy' && options.mode !== 'full') throw new UsageError(`--mode expects proxy or full, got "${options.mode}"`);
      const mode = ctx.config.models[options.mode];
      const budget = options.budget === undefined ? mode.budgetSeconds : Number(options.budget);
      if (!Number.isFinite(budget) || budget <= 0) throw new UsageError(`--budget expects a positive number of seconds, got "${options.budget}"`);
      let model = options.model ?? mode.model;
      if (options.model === undefined && !runnableHere(model)) {
        process.stderr.write(`${model} cannot run on this machine (no Apple silicon); using the tiny model\n`);
        model = TINY_MODEL;
      }
      const say = (line: string) => {
        if (!options.json) process.stderr.write(`${line}\n`);
      };
      const scriptLog = { signal: ctx.signal, onStderr: (line: string) => say(line) };
      const councilDir = ctx.config.council.dir;
      const state = ctx.config.paths.state;
      const training = ctx.config.models.training;
      const trainPy = join(ctx.config.paths.repo, 'python', 'train.py');

      const modelPath = await resolveModel(model, { councilDir, stateDir: state, seed: training.seed }, scriptLog);
      // The section is checked against the mode's search space, as the worker would check it.
      const searchSpace = mode.searchSpace;
      const dataset = await prepareDataset({ councilDir, trainPy, datasetsRoot: join(state, 'datasets'), seed: training.seed, searchSpace }, scriptLog);
      say(`dataset ${dataset.datasetSha256.slice(0, 12)}: ${dataset.counts.train.total} train rows, ${dataset.counts.valid.total} valid rows`);

      const outDir = join(state, 'train-runs', new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, ''));
      mkdirSync(outDir, { recursive: true });
      const outcome = await runTrainer(
        { model: modelPath, dataDir: dataset.datasetDir, outDir, budgetSeconds: budget, seed: training.seed, batchSize: training.batchSize, maxSeqLength: training.maxSeqLength, valBatches: training.valBatches, searchSpace },
        {
          graceSeconds: mode.graceSeconds,
          signal: ctx.signal,
          trainPy,
          log: ctx.log,
          onProgress: (e: ProgressEvent | ValEvent) =>
            say(e.event === 'val'
              ? `  val    iter ${e.iteration}: val loss ${fmt(e.val_loss)}`
              : `  train  iter ${e.iteration}: loss ${fmt(e.train_loss)}  ${fmt(e.tokens_per_second, 0)} tok/s  ${e.elapsed_seconds.toFixed(0)}s elapsed, eta ${e.eta_seconds.toFixed(0)}s`),
        },
      );
      const result = outcome.result;
      const usable = (outcome.status === 'ok' || outcome.status === 'budget') && result?.adapter_path;
      const check = usable ? await checkAdapter(modelPath, result.adapter_path!, scriptLog) : null;

      const summary = {
        status: outcome.status,
        message: outcome.message,
        model: modelPath,
        datasetSha256: dataset.datasetSha256,
        seconds: result?.seconds ?? outcome.seconds,
        iterations: result?.iterations ?? 0,
        trainLoss: result?.train_loss ?? null,
        initialValLoss: result?.initial_val_loss ?? null,
        valLoss: result?.val_loss ?? null,
        tokensPerSecond: result?.tokens_per_second ?? null,
        peakMemoryGb: result?.peak_memory_gb ?? null,
        adapterPath: result?.adapter_path ?? null,
        adapterSha256: result?.adapter_sha256 ?? null,
        adapterCheck: check,
      };
      if (options.json) printJson(summary);
      else {
        process.stdout.write(
          `${formatTable(['figure', 'value'], [
            ['status', `${summary.status}${summary.status === 'ok' ? '' : ` (${summary.message})`}`],
            ['model', summary.model],
            ['seconds', summary.seconds.toFixed(1)],
            ['iterations', String(summary.iterations)],
            ['val loss', `${fmt(summary.initialValLoss)} -> ${fmt(summary.valLoss)}`],
            ['train loss', fmt(summary.trainLoss)],
            ['tokens/s', fmt(summary.tokensPerSecond, 0)],
            ['adapter', summary.adapterPath ?? '-'],
            ['sha256', summary.adapterSha256 ?? '-'],
            ['loads', check ? `yes (${check.loraLayers} LoRA layers); sample: ${JSON.stringify(check.sample.slice(0, 80))}` : 'not checked'],
          ])}\n`,
        );
      }
      if (!usable) process.exitCode = outcome.status === 'bad-config' ? 2 : 1;
    });
}
