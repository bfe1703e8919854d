import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { showValue } from '../../planner/search-space.js';
import { runSingle } from '../../research/loop.js';
import { runExitCode } from '../../research/run-lifecycle.js';
import { describeDirty } from '../../research/dirty-tree.js';
import { readResults } from '../../research/results-file.js';
import { championRow } from '../../research/results-format.js';
import { worstCaseSeconds } from '../../research/schedule.js';
import { prepareDataset } from '../../train/prepare.js';
import { TRAIN_PY } from '../../train/runner.js';
import { venvPython } from '../../project.js';
import { commandContext } from '../context.js';
import { formatTable } from '../output.js';
import { loopDeps } from './research-wiring.js';

type Mode = 'auto' | 'full' | 'proxy';

export function experimentCommand(): Command {
  return new Command('experiment')
    .description('one experiment with the current AGENT MODIFIABLE section and no planner (or a baseline with --baseline)')
    .option('--baseline', "record a baseline only: evaluate the mode's champion again")
    .option('--dry-run', 'print the plan (mode and why, parameters, data hash, commands) and change nothing')
    .option('--skip-prepare', 'reuse an already prepared dataset with the same content hash')
    .addOption(new Option('--mode <mode>', 'where to train: auto picks full when the laptop is online').choices(['auto', 'full', 'proxy']).default('auto'))
    .action(async (opts: { baseline?: boolean; dryRun?: boolean; skipPrepare?: boolean; mode: Mode }, command: Command) => {
      const ctx = commandContext(command, 'experiment');
      const deps = await loopDeps(ctx, { planner: false });
      if (opts.dryRun) {
        await printPlan(ctx.config, deps, opts);
        return;
      }
      const summary = await runSingle(deps, { mode: opts.mode, baseline: Boolean(opts.baseline), skipPrepare: Boolean(opts.skipPrepare), signal: ctx.signal });
      const rows = summary.rows.map((r) => [r.experimentId, r.result, r.score?.toFixed(3) ?? '', r.mode ?? '', r.reasons.join(' | ').slice(0, 160)]);
      if (rows.length > 0) process.stdout.write(`${formatTable(['experiment', 'result', 'score', 'mode', 'reasons'], rows)}\n`);
      ctx.log.info({ stoppedBecause: summary.stoppedBecause, abandoned: summary.abandoned, leaseLost: summary.leaseLost }, 'experiment stopped');
      process.stdout.write(`stopped: ${summary.stoppedBecause}\n`);
      if (summary.abandoned) {
        process.stdout.write(`experiment ${summary.abandoned} is still in flight; the next \`autoresearch run\` or \`experiment\` resumes it\n`);
      }
      process.exitCode = runExitCode(summary);
    });
}

async function printPlan(config: ReturnType<typeof commandContext>['config'], deps: Awaited<ReturnType<typeof loopDeps>>, opts: { baseline?: boolean; skipPrepare?: boolean; mode: Mode }): Promise<void> {
  const { mode, reason } = await deps.resolveMode(opts.mode);
  const model = deps.models[mode];
  // The section `experiment` would run: HEAD's (a hand edit must be committed first).
  const source = await deps.ledger.trainPyAt('HEAD');
  const space = deps.spaces[mode];
  const values = deps.section.read(source, space);
  const rows = readResults(deps.resultsPath).rows;
  const champion = championRow(rows, mode, model);
  const dirty = (await deps.ledger.dirtyFiles()).map(describeDirty);
  // The data hash comes from prepare.py run into a throwaway folder, so the dry run leaves no dataset behind.
  const scratch = mkdtempSync(join(tmpdir(), 'autoresearch-dry-run-'));
  let dataHash: string;
  try {
    const trainPy = join(scratch, 'train.py');
    writeFileSync(trainPy, source);
    dataHash = (await prepareDataset({ councilDir: config.council.dir, trainPy, datasetsRoot: join(scratch, 'datasets'), seed: config.models.training.seed, searchSpace: space.name })).datasetSha256;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const budget = config.models[mode];
  const lines = [
    `dry run: nothing is committed, enqueued or written`,
    `kind:        ${opts.baseline || !champion ? `baseline${opts.baseline ? '' : ' first (no champion for this mode yet), then the experiment'}` : 'experiment'}`,
    `mode:        ${mode} (${reason}) on ${model}; budget ${budget.budgetSeconds} s + ${budget.graceSeconds} s grace, worst case ${Math.round(worstCaseSeconds('experiment', opts.mode, mode, deps.budgets, deps.pickupDeadlineMs, deps.evalAllowanceSeconds) / 60)} min with eval`,
    `search:      ${space.name} (${space.file})`,
    `champion:    ${champion ? `${champion.experimentId} (${champion.result}, score ${champion.score?.toFixed(3) ?? '?'})` : 'none'}`,
    `data hash:   ${dataHash}${opts.skipPrepare ? ' (--skip-prepare: reused if already prepared)' : ''}`,
    `work tree:   ${dirty.length > 0 ? `REFUSED, uncommitted changes in ${dirty.join(', ')}; commit a hand edit first` : 'clean'}`,
    `branch:      current (${config.paths.repo})`,
    '',
    formatTable(['parameter', 'value'], Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : showValue(v)])),
    '',
    'commands:',
    `  git commit python/train.py (only the section) with the hypothesis, ref refs/autoresearch/experiments/<id>`,
    `  ${venvPython()} python/prepare.py --council ${config.council.dir} --train-py <run>/train.py --out ${join(config.paths.state, 'datasets')} --seed ${config.models.training.seed} --search-space ${space.name}`,
    `  ${venvPython()} <run>/train.py (from ${TRAIN_PY}) --model ${model} --data <datasets>/${dataHash.slice(0, 12)}... --out <run>/adapter --budget-seconds ${budget.budgetSeconds} --seed ${config.models.training.seed} --search-space ${space.name}`,
    `  eval: mlx_lm.server ${model} + adapter, the suite in ${join(config.council.dir, 'eval')}, then the Council rules against the champion`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
