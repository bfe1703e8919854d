// A process that runs one training through src/train/runner.ts, for the orphan drill:
// `node bin/run-ts.js test/support/orphan-trainer.ts <trainPy> <workDir>`. It writes the trainer down in
// <workDir>/children as a worker does, then waits for the training; the drill kills it with -9 meanwhile.
import { join } from 'node:path';
import { logger } from '../../src/log.js';
import { ChildRegistry } from '../../src/proc/child-registry.js';
import { runTrainer } from '../../src/train/runner.js';

const [trainPy, workDir] = process.argv.slice(2);
await runTrainer(
  { model: 'none', dataDir: workDir!, outDir: join(workDir!, 'adapter'), budgetSeconds: 600, seed: 0 },
  { graceSeconds: 600, trainPy: trainPy!, registry: new ChildRegistry(join(workDir!, 'children')), log: logger('orphan-trainer') },
);
