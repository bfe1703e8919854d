import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { runEvaluation } from '../src/eval/run.js';
import { PROJECT_ROOT } from '../src/project.js';

/**
 * One suite run on the tiny model served by mlx_lm.server, serial and with two requests in flight: the wall
 * time of each and the ratio. Results must be identical either way (checked here too).
 */
export async function benchEvalConcurrency(): Promise<void> {
  const config = loadConfig({ cwd: PROJECT_ROOT, env: { ...process.env, REDIS_URL: '' } });
  const timed = async (concurrency: number) => {
    const started = Date.now();
    const run = await runEvaluation({ config, model: 'tiny', adapterPath: null, concurrency });
    return { seconds: (Date.now() - started) / 1000, scores: run.summary.cases.map((c) => c.score) };
  };
  const serial = await timed(1);
  const concurrent = await timed(2);
  const same = JSON.stringify(serial.scores) === JSON.stringify(concurrent.scores);
  console.log(
    `eval-concurrency: ${serial.scores.length} cases, serial ${serial.seconds.toFixed(1)} s, concurrency 2 ${concurrent.seconds.toFixed(1)} s, ` +
      `ratio ${(serial.seconds / concurrent.seconds).toFixed(2)}x, identical scores: ${same} (state in ${join(config.paths.state, 'evals')})`,
  );
}
