// A worker process for the fleet drills: `node bin/run-ts.js test/support/fleet-worker.ts <config> <role>`.
// The real runWorker with the step trainer (a real child process) in place of MLX; STEP_TRAINER_MS sets its
// pace, or STEP_TRAINER_MODE_MS ({"full":30000,"proxy":15000}) a whole training's duration per mode, as a
// time budget does. Evaluation is the real one (mlx_lm.server) for roles that consume `eval`, or with
// STEP_EVALUATOR_MS the timed stand-in (test/support/step-evaluator.ts) scoring the council's agents, with
// STEP_EVALUATOR_PASS ({"proxy":0.9}) its pass rate for trained adapters per mode. FLEET_WORKER_TRAINER=mlx
// trains for real (python/train.py through mlx, workers/wiring.ts), as `bench night` does on the tiny model.
// Prints "ready" on stdout once consuming, and exits 0 after a clean shutdown on SIGTERM/SIGINT.
import { loadCouncil } from '../../src/council/load.js';
import { loadConfig } from '../../src/config/load.js';
import { logger } from '../../src/log.js';
import type { Trainer } from '../../workers/contracts.js';
import { runWorker } from '../../workers/run.js';
import { mlxEvaluator, mlxTrainer } from '../../workers/wiring.js';
import { stepEvaluator } from './step-evaluator.js';
import { stepTrainer } from './step-trainer.js';

const [file, role] = process.argv.slice(2);
const config = loadConfig({ file });
const controller = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => controller.abort(sig));
const modeMs = process.env.STEP_TRAINER_MODE_MS ? (JSON.parse(process.env.STEP_TRAINER_MODE_MS) as Record<'full' | 'proxy', number>) : null;
const trainer: Trainer =
  process.env.FLEET_WORKER_TRAINER === 'mlx'
    ? mlxTrainer(config, logger('train'))
    : modeMs
      ? (request) => stepTrainer(Math.max(1, Math.round(modeMs[request.mode] / Number(request.values.ITERS ?? 50))))(request)
      : stepTrainer(Number(process.env.STEP_TRAINER_MS ?? 20));
const evaluator = process.env.STEP_EVALUATOR_MS
  ? stepEvaluator(
      config.paths.state,
      loadCouncil(config.council.dir).agents.map((a) => a.id),
      Number(process.env.STEP_EVALUATOR_MS),
      JSON.parse(process.env.STEP_EVALUATOR_PASS ?? '{}') as Partial<Record<'full' | 'proxy', number>>,
    )
  : mlxEvaluator(config, logger('eval'));
await runWorker({
  config,
  redisUrl: config.redis.url,
  role: role!,
  log: logger('worker'),
  signal: controller.signal,
  trainer,
  evaluator,
  onReady: () => process.stdout.write('ready\n'),
});
process.exit(0);
