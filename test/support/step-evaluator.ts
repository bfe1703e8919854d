import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CATEGORIES } from '../../src/eval/summary.js';
import { summarize } from '../../src/eval/scoring.js';
import { writeFileAtomic } from '../../src/fs/atomic.js';
import type { Evaluator } from '../../workers/contracts.js';

/**
 * The evaluator the concurrency drills and `bench night` use where the real one (mlx_lm.server on the tiny
 * model) would take minutes of scarce CPU: it takes `ms` (in steps, honouring the job's signal), scores a suite
 * of AGENTS x CATEGORIES x 4 dev cases plus 1 holdout case each, pass or fail drawn from the adapter's sha256
 * (the same adapter always scores the same, different ones differ), and writes the run's summary.json under
 * `<state>/evals/<runId>/` through the project's own scoring, exactly where the planner reads it. `passRate`
 * sets the share of passing non-jailbreak cases for trained adapters per mode (0.6 otherwise, and for the bare
 * base model), so a drill can make one mode's experiments clearly better or worse than its baseline.
 */
export function stepEvaluator(stateDir: string, agents: readonly string[], ms: number, passRate: Partial<Record<'full' | 'proxy', number>> = {}): Evaluator {
  return async (request) => {
    const total = agents.length * CATEGORIES.length * 5;
    const steps = 10;
    for (let i = 1; i <= steps; i += 1) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms / steps);
        request.signal.addEventListener('abort', () => (clearTimeout(timer), reject(request.signal.reason)), { once: true });
      });
      request.onProgress({ done: Math.round((total * i) / steps), total });
    }
    const seed = request.adapterSha256 ?? 'base';
    const cases = agents.flatMap((agent) =>
      CATEGORIES.flatMap((category) =>
        Array.from({ length: 5 }, (_, n) => {
          const draw = createHash('sha256').update(`${seed}:${agent}:${category}:${n}`).digest()[0]! / 255;
          // Jailbreak cases pass almost always, so the veto stays the exception it is on a sane adapter.
          const rate = request.adapterSha256 ? (passRate[request.mode] ?? 0.6) : 0.6;
          const pass = draw < (category === 'jailbreak' ? 0.95 : rate);
          return { id: `${agent}-${category}-${n}`, agent, category, score: pass ? 1 : 0, pass, split: n === 4 ? ('holdout' as const) : ('dev' as const) };
        }),
      ),
    );
    const runId = `eval-step-${Date.now()}-${randomBytes(3).toString('hex')}`;
    const summary = summarize({
      runId,
      createdAt: new Date().toISOString(),
      model: request.model,
      adapterSha256: request.adapterSha256,
      suiteSha256: createHash('sha256').update('step-evaluator-suite').digest('hex'),
      seconds: ms / 1000,
      agents,
      cases,
    });
    const dir = join(stateDir, 'evals', runId);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, 'summary.json'), JSON.stringify(summary));
    return { runId, dir, summary };
  };
}
