import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { runLoop } from '../../research/loop.js';
import { runExitCode } from '../../research/run-lifecycle.js';
import { deadlineOf } from '../../research/schedule.js';
import { commandContext } from '../context.js';
import { formatTable } from '../output.js';
import { loopDeps } from './research-wiring.js';

const positive = (name: string, integer: boolean) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} expects a positive ${integer ? 'whole ' : ''}number, got "${value}"`);
  }
  return n;
};

export function runCommand(): Command {
  return new Command('run')
    .description('the research loop: plan, train, evaluate, keep or revert, until the experiment or time budget runs out')
    .option('--max-experiments <n>', 'experiments to run (default: run.maxExperiments, 6)', positive('max-experiments', true))
    .option('--max-hours <h>', 'hours before no new experiment starts (default: run.maxHours, 3)', positive('max-hours', false))
    .option('--until <HH:MM>', 'local time by which every experiment must have finished (default: run.until)')
    .addOption(new Option('--mode <mode>', 'where to train: auto picks full when the laptop is online').choices(['auto', 'full', 'proxy']))
    .action(async (opts: { maxExperiments?: number; maxHours?: number; until?: string; mode?: 'auto' | 'full' | 'proxy' }, command: Command) => {
      const ctx = commandContext(command, 'run');
      const until = opts.until ?? ctx.config.run.until;
      if (until !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(until)) throw new UsageError(`--until expects HH:MM (24-hour), got "${until}"`);
      const started = new Date();
      const deadline = deadlineOf(started, opts.maxHours ?? ctx.config.run.maxHours, until);
      const deps = await loopDeps(ctx, { planner: true });
      const maxExperiments = opts.maxExperiments ?? ctx.config.run.maxExperiments;
      ctx.log.info({ planner: deps.planner.name, maxExperiments, deadline: deadline.toISOString(), branch: ctx.config.run.branch }, 'run starting');
      const summary = await runLoop(deps, { maxExperiments, deadline, mode: opts.mode ?? ctx.config.run.mode, signal: ctx.signal });
      const rows = summary.rows.map((r) => [
        r.experimentId,
        r.result,
        r.score === null ? '' : r.score.toFixed(3),
        r.mode ?? '',
        r.reasons.find((x) => /FAIL/.test(x)) ?? r.reasons.at(-1) ?? '',
      ]);
      process.stdout.write(`${rows.length > 0 ? formatTable(['experiment', 'result', 'score', 'mode', 'why'], rows) : 'no experiment was decided'}\n`);
      ctx.log.info({ stoppedBecause: summary.stoppedBecause, abandoned: summary.abandoned, leaseLost: summary.leaseLost }, 'run stopped');
      process.stdout.write(`stopped: ${summary.stoppedBecause}\n`);
      if (summary.abandoned) {
        process.stdout.write(`experiment ${summary.abandoned} is still in flight; the next \`autoresearch run\` resumes waiting for it\n`);
      }
      process.exitCode = runExitCode(summary);
    });
}
