import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { formatPaired, pairedComparison } from '../../eval/paired.js';
import { readSummary } from '../../eval/records.js';
import { formatSummary } from '../../eval/report.js';
import { rescore, runEvaluation } from '../../eval/run.js';
import { commandContext } from '../context.js';
import { printJson } from '../output.js';
import { evalAuditCommand } from './eval-audit.js';
import { progressBar, runDirOf } from './eval-shared.js';

interface EvalOptions {
  model?: string;
  adapter?: string;
  json?: boolean;
  rescore?: string;
  compare?: string[];
  concurrency?: string;
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('evaluate a model (and adapter) on the council suite; or rescore a run; or compare two runs')
    .option('--model <model>', 'model folder, Hugging Face id, or "tiny"')
    .option('--adapter <dir>', 'LoRA adapter folder (mlx-lm format) to serve with the model')
    .option('--concurrency <n>', 'requests in flight (default: eval.concurrency)')
    .option('--rescore <run>', 'judge a finished run again from its records, without generating')
    .option('--compare <runs...>', 'paired comparison of two runs: CANDIDATE BASELINE (folders or run ids)')
    .option('--json', 'print the summary (or comparison) as JSON')
    .addCommand(evalAuditCommand())
    .action(async (options: EvalOptions, command: Command) => {
      const modes = [options.model !== undefined, options.rescore !== undefined, options.compare !== undefined].filter(Boolean).length;
      if (modes !== 1) throw new UsageError('give exactly one of --model, --rescore RUN or --compare RUN_A RUN_B');
      if (options.adapter && !options.model) throw new UsageError('--adapter goes with --model');
      const ctx = commandContext(command, 'eval');

      if (options.compare) {
        if (options.compare.length !== 2) throw new UsageError('--compare takes exactly two runs: CANDIDATE BASELINE');
        const [a, b] = options.compare.map((r) => readSummary(runDirOf(ctx.config, r))) as [ReturnType<typeof readSummary>, ReturnType<typeof readSummary>];
        const paired = pairedComparison(a, b);
        if (options.json) printJson(paired);
        else process.stdout.write(`${formatPaired(paired)}\n`);
        return;
      }

      const run = options.rescore
        ? rescore(runDirOf(ctx.config, options.rescore), { log: ctx.log })
        : await (async () => {
            const bar = progressBar('eval');
            try {
              return await runEvaluation({
                config: ctx.config,
                model: options.model!,
                adapterPath: options.adapter ?? null,
                concurrency: parseConcurrency(options.concurrency),
                signal: ctx.signal,
                onProgress: bar.update,
                log: ctx.log,
              });
            } finally {
              bar.stop();
            }
          })();
      if (options.json) printJson(run.summary);
      else process.stdout.write(`${formatSummary(run.summary)}\nrun ${run.runId}: ${run.dir}\n`);
    });
}

export function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--concurrency must be a whole number from 1 to 64, got ${value}`);
  return n;
}
