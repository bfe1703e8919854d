import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Config } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import type { EvalProgress } from '../../eval/run.js';

/** A run given as a folder, or as a run id under `<state>/evals`. */
export function runDirOf(config: Config, run: string): string {
  if (existsSync(join(run, 'run.json')) || existsSync(join(run, 'summary.json'))) return resolve(run);
  const byId = join(config.paths.state, 'evals', run);
  if (existsSync(byId)) return byId;
  throw new UsageError(`no eval run ${run}: give a run folder or an id listed in ${join(config.paths.state, 'evals')}`);
}

/** A cases-done bar on stderr when a person is watching; nothing otherwise (logs and pipes stay clean). */
export function progressBar(label: string): { update: (p: EvalProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {value}/{total} cases | {duration_formatted}`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      if (!started) {
        bar.start(p.total, p.done);
        started = true;
      } else bar.update(p.done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
