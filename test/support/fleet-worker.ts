// A worker process for the fleet drills: `node bin/run-ts.js test/support/fleet-worker.ts <config> <role>`.
// The real runWorker with the step trainer (a real child process) in place of MLX; STEP_TRAINER_MS sets its
// pace. Evaluation is the real one (mlx_lm.server), for roles that consume `eval`. Prints "ready" on stdout once consuming, and exits 0 after a clean shutdown on SIGTERM/SIGINT.
import { loadConfig } from '../../src/config/load.js';
import { logger } from '../../src/log.js';
import { runWorker } from '../../workers/run.js';
import { mlxEvaluator } from '../../workers/wiring.js';
import { stepTrainer } from './step-trainer.js';

const [file, role] = process.argv.slice(2);
const config = loadConfig({ file });
const controller = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => controller.abort(sig));
await runWorker({
  config,
  redisUrl: config.redis.url,
  role: role!,
  log: logger('worker'),
  signal: controller.signal,
  trainer: stepTrainer(Number(process.env.STEP_TRAINER_MS ?? 20)),
  evaluator: mlxEvaluator(config, logger('eval')),
  onReady: () => process.stdout.write('ready\n'),
});
process.exit(0);
