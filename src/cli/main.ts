import { Command, CommanderError } from 'commander';
import { exitCodeOf } from '../errors.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { modelCommand } from './commands/model.js';
import { prepareCommand } from './commands/prepare.js';
import { trainCommand } from './commands/train.js';
import { evalCommand } from './commands/eval.js';
import { benchmarkCommand } from './commands/benchmark.js';
import { opsCommand } from './commands/ops.js';
import { redisCommand } from './commands/redis.js';
import { serveCommand } from './commands/serve.js';
import { statusCommand } from './commands/status.js';
import { workerCommand } from './commands/worker.js';
import { runCommand } from './commands/run.js';
import { baselineCommand } from './commands/baseline.js';
import { experimentCommand } from './commands/experiment.js';
import { resultsCommand } from './commands/results.js';
import { installSignalHandlers, runCleanups } from './lifecycle.js';

function buildProgram(): Command {
  const program = new Command('autoresearch')
    .description('An overnight LoRA research loop for a council of agents, across a small fleet of Macs.')
    .option('-c, --config <file>', 'config file (default: ./autoresearch.config.yaml, or AUTORESEARCH_CONFIG)')
    .showHelpAfterError('(run with --help for usage)');
  program.addCommand(demoCommand());
  program.addCommand(doctorCommand());
  program.addCommand(configCommand());
  program.addCommand(modelCommand());
  program.addCommand(prepareCommand());
  program.addCommand(trainCommand());
  program.addCommand(evalCommand());
  program.addCommand(benchmarkCommand());
  program.addCommand(opsCommand());
  program.addCommand(redisCommand());
  program.addCommand(serveCommand());
  program.addCommand(workerCommand());
  program.addCommand(statusCommand());
  program.addCommand(runCommand());
  program.addCommand(baselineCommand());
  program.addCommand(experimentCommand());
  program.addCommand(resultsCommand());
  return program;
}

/** Strict everywhere: unknown options and excess arguments are usage errors (exit 2), on every subcommand. */
function makeStrict(command: Command): void {
  command.exitOverride().allowExcessArguments(false).allowUnknownOption(false);
  for (const sub of command.commands) makeStrict(sub);
}

async function main(): Promise<void> {
  installSignalHandlers();
  const program = buildProgram();
  makeStrict(program);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0;
      process.exitCode = ok ? 0 : 2;
    } else {
      process.stderr.write(`autoresearch: ${error instanceof Error ? error.message : String(error)}\n`);
      if (process.env.AUTORESEARCH_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      process.exitCode = exitCodeOf(error);
    }
  } finally {
    await runCleanups();
  }
}

await main();
