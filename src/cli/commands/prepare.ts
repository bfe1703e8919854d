import { Command } from 'commander';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { prepareDataset } from '../../train/prepare.js';
import { commandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';

/** `autoresearch prepare`: build the training set that a train.py section asks for. */
export function prepareCommand(): Command {
  return new Command('prepare')
    .description("build train.jsonl/valid.jsonl from the council and the general pool, mixed as train.py's section says (cached by content under <state>/datasets)")
    .option('--train-py <file>', "the train.py whose section gives DATA_MIX_RATIO and PER_AGENT_WEIGHTS (default: the repo's python/train.py)")
    .option('--mode <mode>', "whose search space the section is checked against (models.<mode>.searchSpace): proxy or full", 'proxy')
    .option('--json', 'print the result as JSON')
    .action(async (options: { trainPy?: string; mode: string; json?: boolean }, command: Command) => {
      const ctx = commandContext(command, 'prepare');
      if (options.mode !== 'proxy' && options.mode !== 'full') throw new UsageError(`--mode expects proxy or full, got "${options.mode}"`);
      const dataset = await prepareDataset(
        {
          councilDir: ctx.config.council.dir,
          trainPy: options.trainPy ? resolve(options.trainPy) : join(ctx.config.paths.repo, 'python', 'train.py'),
          datasetsRoot: join(ctx.config.paths.state, 'datasets'),
          seed: ctx.config.models.training.seed,
          searchSpace: ctx.config.models[options.mode].searchSpace,
        },
        { signal: ctx.signal, onStderr: (line) => process.stderr.write(`${line}\n`) },
      );
      if (options.json) {
        printJson(dataset);
        return;
      }
      const { train, valid } = dataset.counts;
      const agents = Object.keys(train.agents);
      process.stdout.write(`${dataset.datasetDir}${dataset.reused ? ' (already prepared)' : ''}\n\n`);
      process.stdout.write(
        `${formatTable(
          ['split', 'total', 'general', ...agents],
          [train, valid].map((c, i) => [i === 0 ? 'train' : 'valid', String(c.total), String(c.general), ...agents.map((a) => String(c.agents[a] ?? 0))]),
        )}\n`,
      );
    });
}
