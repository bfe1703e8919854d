import { join } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { pairedComparison } from '../../eval/paired.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import { benchmarkTsv, formatSummary, type BenchmarkRow } from '../../eval/report.js';
import { newRunId, runEvaluation } from '../../eval/run.js';
import { fmtDelta, fmtScore, textTable } from '../../eval/table.js';
import { commandContext } from '../context.js';
import { parseConcurrency } from './eval.js';
import { progressBar } from './eval-shared.js';

export interface ModelSpec {
  label: string;
  model: string;
  adapter: string | null;
}

/**
 * `[LABEL=]MODEL[:ADAPTER]`: "tiny", "tiny:adapters/exp-12", "champion=mlx-community/Qwen3.5-9B-MLX-4bit:~/a".
 * The first ':' splits model from adapter, so a model path must not contain one.
 */
export function parseModelSpec(spec: string): ModelSpec {
  const eq = spec.indexOf('=');
  const label = eq > 0 ? spec.slice(0, eq) : null;
  const rest = eq > 0 ? spec.slice(eq + 1) : spec;
  const colon = rest.indexOf(':');
  const model = colon >= 0 ? rest.slice(0, colon) : rest;
  const adapter = colon >= 0 ? rest.slice(colon + 1) : null;
  if (!model || adapter === '') throw new UsageError(`--model ${spec}: expected [LABEL=]MODEL[:ADAPTER], e.g. tiny:adapters/exp-12`);
  return { label: label ?? (adapter ? `${model}+${adapter}` : model), model, adapter };
}

export function benchmarkCommand(): Command {
  return new Command('benchmark')
    .description('evaluate several models or adapters on the same suite and print one comparison table')
    .requiredOption('--model <spec>', '[LABEL=]MODEL[:ADAPTER], repeatable; the first is the reference for paired stats', (v: string, prev: string[] = []) => [...prev, v])
    .option('--concurrency <n>', 'requests in flight (default: eval.concurrency)')
    .option('--tsv', 'print only the TSV')
    .action(async (options: { model: string[]; concurrency?: string; tsv?: boolean }, command: Command) => {
      const specs = options.model.map(parseModelSpec);
      if (specs.length < 2) throw new UsageError('benchmark compares at least two --model entries; use `autoresearch eval` for one');
      const ctx = commandContext(command, 'benchmark');
      const rows: BenchmarkRow[] = [];
      for (const spec of specs) {
        ctx.signal.throwIfAborted();
        const bar = progressBar(spec.label);
        try {
          const run = await runEvaluation({
            config: ctx.config,
            model: spec.model,
            adapterPath: spec.adapter,
            concurrency: parseConcurrency(options.concurrency),
            signal: ctx.signal,
            onProgress: bar.update,
            log: ctx.log,
          });
          rows.push({ ...spec, summary: run.summary, runDir: run.dir });
        } finally {
          bar.stop();
        }
      }
      const tsv = benchmarkTsv(rows);
      const file = join(ctx.config.paths.state, 'evals', `benchmark-${newRunId().slice('eval-'.length)}.tsv`);
      writeFileAtomic(file, `${tsv}\n`);
      if (options.tsv) {
        process.stdout.write(`${tsv}\n`);
        return;
      }
      const reference = rows[0]!;
      const table = textTable(
        ['model', 'overall', 'jailbreak', 'Δ overall', 'wins', 'losses', 'ties', 'p', 'run'],
        rows.map((r, i) => {
          const p = i === 0 ? null : pairedComparison(r.summary, reference.summary);
          return [
            r.label,
            fmtScore(r.summary.overall),
            fmtScore(r.summary.jailbreak),
            p ? fmtDelta(p.deltaOverall) : '(ref)',
            p ? String(p.wins) : '',
            p ? String(p.losses) : '',
            p ? String(p.ties) : '',
            p ? p.pValue.toFixed(4) : '',
            r.summary.runId,
          ];
        }),
      );
      const details = rows.map((r) => `${r.label}\n${formatSummary(r.summary)}`).join('\n\n');
      process.stdout.write(`${details}\n\n${table}\n\n${tsv}\n\nTSV saved to ${file}\n`);
    });
}
