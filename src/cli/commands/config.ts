import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { printJson } from '../output.js';

export function configCommand(): Command {
  const config = new Command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate autoresearch.config.yaml (exit 2 with the key, value, what is allowed and the line if not)')
    .option('--json', 'print the resolved configuration (secrets hidden) as JSON')
    .action((options: { json?: boolean }, command: Command) => {
      const { config: file } = command.optsWithGlobals<{ config?: string }>();
      const loaded = loadConfig({ file });
      if (options.json) {
        printJson({
          ...loaded,
          secrets: Object.fromEntries(Object.entries(loaded.secrets).map(([k, v]) => [k, v ? 'set' : 'unset'])),
        });
      } else {
        process.stdout.write(`${loaded.source ?? 'no config file: the defaults'} is valid\n`);
      }
    });
  return config;
}
