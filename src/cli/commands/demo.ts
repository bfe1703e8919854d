import { join } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DemoDisplay } from '../../demo/display.js';
import { runDemo } from '../../demo/run-demo.js';
import { PROJECT_ROOT } from '../../project.js';
import { shutdownSignal } from '../lifecycle.js';

const wholeNumber = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} expects a whole number from ${min} to ${max}, got "${value}"`);
  return n;
};

export function demoCommand(): Command {
  return new Command('demo')
    .description('the whole distributed loop on this machine with the tiny local model: Redis, two workers, the server, training, evaluation, the Council')
    .option('--experiments <n>', 'experiments after the baseline', wholeNumber('experiments', 1, 20), 3)
    .option('--budget <seconds>', 'training budget per experiment', wholeNumber('budget', 5, 3600), 45)
    .option('--dir <folder>', 'where the demo works (scratch clone, Redis data, logs)', join(PROJECT_ROOT, '.autoresearch', 'demo'))
    .option('--serve', 'keep the dashboard up after the run, until Ctrl-C')
    .action(async (options: { experiments: number; budget: number; dir: string; serve?: boolean }) => {
      const display = new DemoDisplay();
      const started = Date.now();
      const outcome = await runDemo(
        { experiments: options.experiments, budgetSeconds: options.budget, dir: options.dir, serve: Boolean(options.serve), signal: shutdownSignal },
        display,
      );
      display.phase(`done in ${Math.round((Date.now() - started) / 1000)} s: ${outcome.rows.length} rows in results.tsv`);
      if (outcome.interrupted) process.exitCode = 130;
    });
}
