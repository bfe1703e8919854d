import { Command } from 'commander';
import { ensureTinyModel } from '../../train/tiny-model.js';
import { commandContext } from '../context.js';
import { printJson } from '../output.js';

/** `autoresearch model build-tiny`: build (or find in the cache) the tiny model for the configured council. */
export function modelCommand(): Command {
  const model = new Command('model').description('base models');
  model
    .command('build-tiny')
    .description('build the tiny local model from the council (cached under <state>/models; about a minute or two on 2 cores) and print its folder')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = commandContext(command, 'model');
      const built = await ensureTinyModel(
        { councilDir: ctx.config.council.dir, stateDir: ctx.config.paths.state, seed: ctx.config.models.training.seed },
        { signal: ctx.signal, onStderr: (line) => process.stderr.write(`${line}\n`) },
      );
      if (options.json) printJson(built);
      else process.stdout.write(`${built.modelDir}\n`);
    });
  return model;
}
