import { benchEvalConcurrency } from './eval-concurrency.js';
import { benchLandscape } from './landscape.js';
import { benchMlxBlas } from './mlx-blas.js';
import { benchNight } from './night.js';
import { benchNoise } from './noise.js';
import { benchPlanner } from './planner.js';
import { benchTinyNight } from './tiny-night.js';
import { benchWake } from './wake.js';


/** `npm run bench [name...]`: benchmarks print ratios; they are never part of the test suite. */
const all: Record<string, () => Promise<void>> = {
  'mlx-blas': benchMlxBlas,
  'eval-concurrency': benchEvalConcurrency,
  night: benchNight,
  noise: benchNoise,
  planner: benchPlanner,
  wake: benchWake,
  landscape: benchLandscape,
  'tiny-night': benchTinyNight,
};
const chosen = process.argv.slice(2);
for (const name of chosen.length > 0 ? chosen : Object.keys(all)) {
  const bench = all[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; choose from ${Object.keys(all).join(', ')}`);
    process.exit(2);
  }
  await bench();
}
