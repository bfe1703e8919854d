import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../src/config/load.js';
import type { ExperimentRequest } from '../src/research/executor.js';
import { searchSpace } from '../src/research/hyperparameters.js';
import { writeSection } from '../src/research/section.js';
import { prepareDataset } from '../src/train/prepare.js';
import { TRAIN_PY } from '../src/train/runner.js';

/**
 * Dataset preparation on the planner's machine, at submit: the request's values (checked against the routed
 * mode's search space) go into a scratch copy of train.py (prepare.py reads DATA_MIX_RATIO and PER_AGENT_WEIGHTS from it), and prepare.py writes the set to
 * `<state>/datasets/<sha256>/`, reusing an identical set when one exists (which is what skipPrepare relies on).
 */
export function councilDatasetPreparer(config: Config) {
  return async (request: ExperimentRequest, space: string): Promise<{ dir: string }> => {
    const scratch = await mkdtemp(join(config.paths.state, 'prepare-'));
    try {
      const trainPy = join(scratch, 'train.py');
      await writeFile(trainPy, writeSection(readFileSync(TRAIN_PY, 'utf8'), request.values, undefined, searchSpace(space).table));
      const dataset = await prepareDataset({
        councilDir: config.council.dir,
        trainPy,
        datasetsRoot: join(config.paths.state, 'datasets'),
        seed: config.models.training.seed,
        searchSpace: space,
      });
      return { dir: dataset.datasetDir };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
}
