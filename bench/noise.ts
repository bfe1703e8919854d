import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { loadCouncil } from '../src/council/load.js';
import { runEvaluation } from '../src/eval/run.js';
import type { EvalSummary } from '../src/eval/summary.js';
import { logger } from '../src/log.js';
import { PROJECT_ROOT } from '../src/project.js';
import { applyCouncilRules } from '../src/research/council-rules.js';
import { simulateNights, simulatePairs, type SimulationRules } from '../src/research/keep-simulation.js';
import { readSection, writeSection } from '../src/research/section.js';
import { prepareDataset } from '../src/train/prepare.js';
import { runTrainer, TRAIN_PY } from '../src/train/runner.js';
import { ensureTinyModel } from '../src/train/tiny-model.js';

/**
 * How noisy is one experiment? One train.py section trained K times on the tiny model with different
 * training seeds (the runner's --seed, never a section parameter), each adapter evaluated through mlx_lm.server
 * like any experiment. Same section, so every difference is noise: every ordered pair of seeds is an A/A test,
 * and a keep is a false keep. Prints per-case flip rates, the paired SE, and how often the seed's rules and the
 * noise guard would keep. First, the seeded simulation of the same question on the suite's layout (cheap).
 *
 * On the tiny model the vetoes fire on its absolute level (its jailbreak score sits near the 0.7 floor), which
 * says nothing about noise; so besides the full rules it counts the promotion rule alone and promotion plus guard.
 * NOISE_SEEDS (default 4, at least 2) and NOISE_BUDGET_SECONDS (default 120, a ceiling: 50 iterations take
 * 30-60 s on an idle 2-core machine) size the run.
 */
export async function benchNoise(): Promise<void> {
  const started = Date.now();
  const config = loadConfig({ cwd: PROJECT_ROOT, env: { ...process.env, REDIS_URL: '' } });
  const rules: SimulationRules = { thresholds: config.council.thresholds, noiseGuard: { ...config.council.noiseGuard, enabled: true } };
  console.log(`noise: load ${loadavg()} at start; rules ${JSON.stringify(rules)}`);

  simulated(rules);

  const seeds = Array.from({ length: positiveInt('NOISE_SEEDS', 4, 2) }, (_, i) => i);
  const budgetSeconds = positiveInt('NOISE_BUDGET_SECONDS', 120, 5);
  const councilDir = config.council.dir;
  const stateDir = config.paths.state;
  const training = config.models.training;
  const model = (await ensureTinyModel({ councilDir, stateDir, seed: training.seed })).modelDir;
  const quiet = logger('bench-noise').child({}, { level: 'warn' });
  const workDir = mkdtempSync(join(stateDir, 'bench-noise-'));
  const trainPy = activeTrainPy(workDir, loadCouncil(councilDir).agents.map((a) => a.id));
  const dataset = await prepareDataset({ councilDir, trainPy, datasetsRoot: join(stateDir, 'datasets'), seed: training.seed });
  console.log(`noise: ${seeds.length} training seeds x ${budgetSeconds} s on the tiny model, section ${JSON.stringify(ACTIVE)} over the repo's; adapters in ${workDir}`);

  const runs: Array<{ seed: number; summary: EvalSummary; iterations: number; valLoss: number | null }> = [];
  const budgetBound: number[] = [];
  for (const seed of seeds) {
    const outDir = join(workDir, `seed-${seed}`);
    const t0 = Date.now();
    const outcome = await runTrainer(
      { model, dataDir: dataset.datasetDir, outDir, budgetSeconds, seed, batchSize: training.batchSize, maxSeqLength: training.maxSeqLength, valBatches: training.valBatches },
      { graceSeconds: config.models.proxy.graceSeconds, trainPy, log: quiet },
    );
    if ((outcome.status !== 'ok' && outcome.status !== 'budget') || !outcome.result?.adapter_path) {
      throw new Error(`training with seed ${seed} ended ${outcome.status}: ${outcome.message}`);
    }
    if (outcome.status === 'budget') budgetBound.push(seed);
    const t1 = Date.now();
    const run = await runEvaluation({ config, model: 'tiny', adapterPath: outcome.result.adapter_path, adapterSha256: outcome.result.adapter_sha256 ?? null, log: quiet });
    runs.push({ seed, summary: run.summary, iterations: outcome.result.iterations, valLoss: outcome.result.val_loss ?? null });
    console.log(
      `  seed ${seed}: ${outcome.status}, ${outcome.result.iterations} iterations, val loss ${outcome.result.val_loss?.toFixed(3) ?? '-'}, train ${((t1 - t0) / 1000).toFixed(0)} s, ` +
        `eval ${((Date.now() - t1) / 1000).toFixed(0)} s: dev overall ${run.summary.overall.toFixed(3)}, jailbreak ${run.summary.jailbreak.toFixed(3)}, ` +
        `holdout ${run.summary.holdout ? run.summary.holdout.overall.toFixed(3) : '-'} (load ${loadavg()})`,
    );
  }

  if (budgetBound.length > 0) {
    console.log(`warning: seeds ${budgetBound.join(', ')} hit the budget before ${ACTIVE.ITERS} iterations, so the runs differ in training length too, not only in seed; raise NOISE_BUDGET_SECONDS`);
  }
  flips(runs.map((r) => r.summary));
  aaKeeps(runs, config.council.thresholds, rules.noiseGuard);
  console.log(`noise: wall ${((Date.now() - started) / 1000).toFixed(0)} s; load ${loadavg()} at end`);
}

/**
 * At the baseline's learning rate a minute of training leaves the tiny model's replies unchanged, so there would
 * be no noise to see; the fastest learning rate and smallest accumulation in the ranges make the adapter matter.
 * A fixed, small ITERS makes every seed take the same number of steps: a run stopped by the budget instead
 * trains as far as the machine's load lets it, and the seeds would then differ in more than the seed.
 */
const ACTIVE = { LEARNING_RATE: 1e-4, GRAD_ACCUM: 2, ITERS: 50 };

/** A copy of python/train.py (with the files it reads) whose section is the repo's with ACTIVE applied. */
function activeTrainPy(workDir: string, agents: readonly string[]): string {
  const dir = join(workDir, 'python');
  mkdirSync(dir, { recursive: true });
  for (const f of ['hparams.py', 'hyperparameters.json']) copyFileSync(join(dirname(TRAIN_PY), f), join(dir, f));
  const source = readFileSync(TRAIN_PY, 'utf8');
  const file = join(dir, 'train.py');
  writeFileSync(file, writeSection(source, { ...readSection(source, agents), ...ACTIVE }, agents));
  return file;
}

function simulated(rules: SimulationRules): void {
  const agents = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
  const layout = (differing: number) => ({ agents, casesPerAgent: 25, differing, stablePassRate: 0.6 });
  console.log('simulated (seeded; 6 agents x 25 cases; equal adapters unless stated):');
  for (const [i, q] of [0.05, 0.1, 0.15, 0.2, 0.25].entries()) {
    const r = simulatePairs(layout(q), rules, 2000, 1000 + i);
    console.log(`  differing ${pct(r.meanDiffering)}: seed rule keeps ${pct(r.seedKeeps)}, with the noise guard ${pct(r.guardKeeps)} (2000 pairs)`);
  }
  const worse = simulatePairs(layout(0.15), rules, 2000, 2000, 3);
  console.log(`  truly 0.02 worse (3 of 150 cases lost), 15% differing: seed rule keeps ${pct(worse.seedKeeps)}, with the guard ${pct(worse.guardKeeps)}`);
  const n = simulateNights(layout(0.15), rules, 1000, 6, 3000);
  console.log(
    `  6-experiment nights with no real progress (1000): at least one keep ${pct(n.seedAnyKeep)} (guard ${pct(n.guardAnyKeep)}); ` +
      `champion inflated by ${n.seedInflation.toFixed(3)} (guard ${n.guardInflation.toFixed(3)})`,
  );
}

/** Per case: over all unordered pairs of seeds, the fraction whose scores differ. */
function flips(summaries: readonly EvalSummary[]): void {
  const ids = summaries[0]!.cases.filter((c) => c.split === 'dev').map((c) => c.id);
  const score = summaries.map((s) => new Map(s.cases.map((c) => [c.id, c.score])));
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < summaries.length; i += 1) for (let j = i + 1; j < summaries.length; j += 1) pairs.push([i, j]);
  const rate = ids.map((id) => ({ id, rate: pairs.filter(([i, j]) => score[i]!.get(id) !== score[j]!.get(id)).length / pairs.length }));
  const flaky = rate.filter((r) => r.rate > 0).sort((a, b) => b.rate - a.rate);
  const meanRate = rate.reduce((s, r) => s + r.rate, 0) / rate.length;
  console.log(`per-case flips over ${pairs.length} seed pairs, ${ids.length} dev cases: mean differing fraction per pair ${pct(meanRate)}; ${flaky.length} cases ever differ`);
  const buckets = [0.25, 0.5, 0.75, 1].map((hi, k, all) => {
    const lo = k === 0 ? 0 : all[k - 1]!;
    return `(${lo},${hi}] ${flaky.filter((r) => r.rate > lo && r.rate <= hi).length}`;
  });
  console.log(`  flip-rate histogram of those: ${buckets.join('  ')}`);
  if (flaky.length > 0) console.log(`  most unstable: ${flaky.slice(0, 8).map((r) => `${r.id} ${pct(r.rate)}`).join(', ')}`);
}

/**
 * Every ordered pair (candidate, champion) of seeds: the full rules with and without the guard, and the promotion
 * rule alone with and without it (the vetoes read absolute levels, which on the tiny model hide the noise).
 */
function aaKeeps(
  runs: ReadonlyArray<{ seed: number; summary: EvalSummary }>,
  thresholds: Parameters<typeof applyCouncilRules>[2],
  guard: Parameters<typeof applyCouncilRules>[3],
): void {
  const count = { seed: 0, guarded: 0, promotion: 0, promotionGuarded: 0, total: 0 };
  const ses: number[] = [];
  for (const cand of runs) {
    for (const champ of runs) {
      if (cand === champ) continue;
      count.total += 1;
      const seed = applyCouncilRules(cand.summary, champ.summary, thresholds, { ...guard, enabled: false });
      const guarded = applyCouncilRules(cand.summary, champ.summary, thresholds, guard);
      const promoted = guarded.verdicts.find((v) => v.rule === 'promotion')!.passed;
      const cleared = guarded.verdicts.find((v) => v.rule === 'noise-guard')!.passed;
      if (seed.decision === 'keep') count.seed += 1;
      if (guarded.decision === 'keep') count.guarded += 1;
      if (promoted) count.promotion += 1;
      if (promoted && cleared) count.promotionGuarded += 1;
      const p = guarded.paired;
      ses.push(p.macroStdErr);
      console.log(
        `  seed ${cand.seed} vs champion seed ${champ.seed}: delta ${signed(p.macroDelta)} paired SE ${p.macroStdErr.toFixed(4)} ` +
          `(${p.wins}W/${p.losses}L); promotion ${promoted ? 'pass' : 'miss'}, guard ${cleared ? 'pass' : 'miss'}; seed rules ${seed.decision}, with guard ${guarded.decision}`,
      );
    }
  }
  const meanSe = ses.reduce((s, x) => s + x, 0) / ses.length;
  const share = (n: number) => `${n}/${count.total} (${pct(n / count.total)})`;
  console.log(
    `A/A false keeps over ${count.total} ordered pairs: promotion rule alone ${share(count.promotion)}, promotion + noise guard ${share(count.promotionGuarded)}; ` +
      `full seed rules ${share(count.seed)}, full rules + guard ${share(count.guarded)}`,
  );
  console.log(`mean paired SE ${meanSe.toFixed(4)}: the guard's bar is about ${(guard.z * meanSe).toFixed(3)} against the +${thresholds.promotion} promotion margin`);
}

function positiveInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, got "${raw}"`);
  return n;
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
