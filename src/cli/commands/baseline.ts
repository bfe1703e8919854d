import { Command, Option } from 'commander';
import { baselineRequest } from '../../research/baseline.js';
import { championRow } from '../../research/results-format.js';
import { readResults } from '../../research/results-file.js';
import { commandContext } from '../context.js';
import { loopDeps } from './research-wiring.js';

export function baselineCommand(): Command {
  return new Command('baseline')
    .description("enqueue a baseline evaluation of the mode's champion (or the bare base model) and return at once")
    .addOption(new Option('--mode <mode>', 'which mode to baseline; auto asks the fleet').choices(['auto', 'full', 'proxy']).default('auto'))
    .action(async (opts: { mode: 'auto' | 'full' | 'proxy' }, command: Command) => {
      const ctx = commandContext(command, 'baseline');
      const deps = await loopDeps(ctx, { planner: false });
      const { mode, reason } = await deps.resolveMode(opts.mode);
      const champion = championRow(readResults(deps.resultsPath).rows, mode, deps.models[mode]);
      const request = await baselineRequest(deps, mode, champion?.adapterSha256 ?? null);
      await deps.executor.submit(request);
      process.stdout.write(
        `enqueued ${request.experimentId}: ${mode} mode (${reason}) on ${deps.models[mode]}, ` +
          `${champion?.adapterSha256 ? `champion adapter of ${champion.experimentId}` : 'the bare base model'}\n` +
          'the next `autoresearch run` (or `autoresearch experiment`) records its row when it finishes\n',
      );
    });
}
