import { Command } from 'commander';
import { mlxEvaluator, mlxTrainer } from '../../../workers/wiring.js';
import { runWorker } from '../../../workers/run.js';
import { commandContext, redisFor } from '../context.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('consume this machine\'s queues (fleet.roles): training and evaluation, one GPU job at a time')
    .requiredOption('--role <role>', 'which queues to consume, as named in fleet.roles (mbp, mini, all, ...)')
    .action(async (options: { role: string }, command: Command) => {
      const ctx = commandContext(command, 'worker');
      const redisUrl = await redisFor(ctx);
      await runWorker({
        config: ctx.config,
        redisUrl,
        role: options.role,
        log: ctx.log,
        signal: ctx.signal,
        trainer: mlxTrainer(ctx.config, ctx.log),
        evaluator: mlxEvaluator(ctx.config, ctx.log),
      });
    });
}
