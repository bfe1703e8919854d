import { readFileSync, rmSync } from 'node:fs';
import type { EvalSummary } from '../src/eval/summary.js';
import { applyCouncilRules } from '../src/research/council-rules.js';
import { baselineValues } from '../src/research/hyperparameters.js';
import { simulateNights, simulatePairs, type SimulationRules } from '../src/research/keep-simulation.js';
import { formatKeepCount, keepRates } from '../src/research/seed-confirmation.js';
import { mean, sampleSd } from '../src/stats/averages.js';
import { openTinyBench, seedSpread, trainAndEvaluate } from './tiny-point.js';

/**
 * How noisy is one experiment? The tiny search space's baseline section trained K times on the tiny model with
 * different training seeds (the runner's --seed, never a section parameter), each adapter evaluated through
 * mlx_lm.server like any experiment. Same section, so every difference is noise: every ordered pair of seeds is an
 * A/A test, and a keep is a false keep. Prints per-case flip rates, the paired SE, and how often the seed's rules
 * and the noise guard would keep. First, the seeded simulation of the same question on the suite's layout (cheap).
 *
 * Training goes through bench/tiny-point.ts, as the landscape's does, so "the training-seed noise" means the same
 * thing in both. The baseline stops at its iteration count well inside the budget, so the seeds differ only in the
 * seed, not in how far the machine's load let them train. NOISE_SEEDS (default 4, at least 2) sizes the run.
 */
export async function benchNoise(): Promise<void> {
  const started = Date.now();
  const bench = await openTinyBench('noise');
  const { config, agents, work } = bench;
  const rules: SimulationRules = { thresholds: config.council.thresholds, noiseGuard: { ...config.council.noiseGuard, enabled: true } };
  console.log(`noise: load ${loadavg()} at start; rules ${JSON.stringify(rules)}`);

  simulated(rules);

  const seeds = Array.from({ length: positiveInt('NOISE_SEEDS', 4, 2) }, (_, i) => i);
  const section = { ...baselineValues(agents, bench.space.table), EXPERIMENT_HYPOTHESIS: 'bench noise: the baseline, once per training seed' };
  console.log(`noise: ${seeds.length} training seeds of the tiny table's baseline section (${section.ITERS} iterations, ${bench.budgetSeconds} s budget); adapters in ${work}`);

  const runs: Array<{ seed: number; summary: EvalSummary }> = [];
  const budgetBound: number[] = [];
  try {
    for (const seed of seeds) {
      const point = await trainAndEvaluate(bench, `seed-${seed}`, section, seed);
      if (point.iterations < section.ITERS) budgetBound.push(seed);
      const { summary } = point;
      runs.push({ seed, summary });
      console.log(
        `  seed ${seed}: ${point.iterations} iterations in ${point.trainSeconds.toFixed(0)} s, val loss ${point.valLoss}: dev overall ${summary.overall.toFixed(3)}, ` +
          `jailbreak ${summary.jailbreak.toFixed(3)}, holdout ${summary.holdout ? summary.holdout.overall.toFixed(3) : '-'} (load ${loadavg()})`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  if (budgetBound.length > 0) {
    console.log(`warning: seeds ${budgetBound.join(', ')} hit the budget before ${section.ITERS} iterations, so the runs differ in training length too, not only in seed; raise LANDSCAPE_BUDGET_SECONDS`);
  }
  console.log(`dev overall over ${runs.length} seeds: ${seedSpread(runs.map((r) => r.summary.overall))}`);
  flips(runs.map((r) => r.summary));
  aaKeeps(runs, config.council.thresholds, rules.noiseGuard);
  console.log(`noise: wall ${((Date.now() - started) / 1000).toFixed(0)} s; load ${loadavg()} at end`);
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
  const meanRate = mean(rate.map((r) => r.rate));
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
  const meanSe = mean(ses);
  const share = (n: number) => `${n}/${count.total} (${pct(n / count.total)})`;
  console.log(
    `A/A false keeps over ${count.total} ordered pairs: promotion rule alone ${share(count.promotion)}, promotion + noise guard ${share(count.promotionGuarded)}; ` +
      `full seed rules ${share(count.seed)}, full rules + guard ${share(count.guarded)}`,
  );
  const keepsWith = (g: typeof guard) => keepRates(runs, runs, (cand, champ) => applyCouncilRules(cand.summary, champ.summary, thresholds, g).decision === 'keep');
  const confirmed = keepsWith(guard);
  console.log(
    `full rules + guard, one run of the candidate: ${formatKeepCount(confirmed.single)} false keeps; ` +
      `with a second training seed of it required to keep too: ${formatKeepCount(confirmed.confirmed)} (pairs of candidate seeds against each champion seed)`,
  );
  const trainingSd = sampleSd(runs.map((r) => r.summary.overall));
  console.log(
    `training SD of the overall over ${runs.length} seeds ${trainingSd.toFixed(4)} (set council.noiseGuard.trainingSd to it): ` +
      `full rules + guard then keep ${formatKeepCount(keepsWith({ ...guard, trainingSd }).single)} of the A/A pairs`,
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
