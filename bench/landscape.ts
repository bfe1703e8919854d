import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { categoryLeads, movedCategories } from '../src/eval/category-parts.js';
import { pairedComparison } from '../src/eval/paired.js';
import { runEvaluation } from '../src/eval/run.js';
import type { EvalSummary } from '../src/eval/summary.js';
import { fmtDelta, fmtScore, textTable } from '../src/eval/table.js';
import type { Config } from '../src/config/load.js';
import { applyCouncilRules } from '../src/research/council-rules.js';
import { baselineValues, searchSpace, type HyperParameters } from '../src/research/hyperparameters.js';
import { formatKeepCount, keepRates } from '../src/research/seed-confirmation.js';
import { mean, sampleSd } from '../src/stats/averages.js';
import { describeChange, openTinyBench, seedSpread, trainAndEvaluate, type TrainedPoint } from './tiny-point.js';

/** The search space whose landscape this measures: the tiny model's. */
const SPACE = 'tiny';

interface Point {
  name: string;
  /** What the point is expected to show, written before it was measured. */
  why: string;
  change: (base: HyperParameters, agents: readonly string[]) => Partial<HyperParameters>;
  seed?: number;
}

/**
 * A fixed grid over the tiny search space, chosen from the table's ranges before measuring: one step along each
 * axis, the region the table calls good, and its bad corners (the top learning rate with the most iterations; a mix
 * that starves the council or one agent). The baseline is trained with four training seeds and the known-good corner
 * with three, so the gap between them is measured against the training-seed noise (two seeds of the baseline once
 * differed by 0.002 where four spanned 0.081).
 */
const KNOWN_GOOD = 'lr-x2-long';

const GRID: Point[] = [
  { name: 'baseline', why: 'the table baseline', change: () => ({}) },
  ...[1, 2, 3].map((seed) => ({ name: `baseline-seed${seed}`, why: 'training-seed noise', change: () => ({}), seed })),
  { name: 'lr-low', why: 'a tenth of the baseline rate: too slow for the budget', change: (b) => ({ LEARNING_RATE: b.LEARNING_RATE / 10 }) },
  { name: 'lr-x4', why: 'four times the baseline rate', change: (b) => ({ LEARNING_RATE: b.LEARNING_RATE * 4 }) },
  { name: 'lr-x4-rank32', why: 'the good region: a higher rate and a wider adapter', change: (b) => ({ LEARNING_RATE: b.LEARNING_RATE * 4, LORA_RANK: 32, LORA_ALPHA: 64 }) },
  ...[undefined, 1, 2].map((seed) => ({
    name: seed === undefined ? KNOWN_GOOD : `${KNOWN_GOOD}-seed${seed}`,
    why: 'twice the rate for the most iterations: the best of the exploratory runs in docs/tiny-model.md',
    change: (b: HyperParameters) => ({ LEARNING_RATE: b.LEARNING_RATE * 2, ITERS: 1e9 }),
    seed,
  })),
  { name: 'layers-1', why: 'LoRA on the last block only', change: () => ({ NUM_LAYERS: 1 }) },
  { name: 'mix-0.9', why: 'nine general rows for every council row', change: () => ({ DATA_MIX_RATIO: 0.9 }) },
  {
    name: 'starve-first',
    why: "the first agent at the minimum weight, the others at the maximum",
    change: (_b, agents) => ({ PER_AGENT_WEIGHTS: Object.fromEntries(agents.map((a, i) => [a, i === 0 ? 0.25 : 2])) }),
  },
  { name: 'lr-max-long', why: 'the bad corner: the top rate for the most iterations', change: () => ({ LEARNING_RATE: 1e9, ITERS: 1e9 }) },
];

/** A value clamped into the table's range, so a point can say "the top" without repeating the number. */
function clampToTable(values: HyperParameters): HyperParameters {
  const out: Record<string, unknown> = { ...values };
  for (const spec of searchSpace(SPACE).table.parameters) {
    const v = out[spec.name];
    const clamp = (x: number) => Math.min(spec.max, Math.max(spec.min, x));
    if (typeof v === 'number') out[spec.name] = spec.type === 'int' ? Math.round(clamp(v)) : clamp(v);
    else if (spec.type === 'agent_weights') out[spec.name] = Object.fromEntries(Object.entries(v as Record<string, number>).map(([a, w]) => [a, clamp(w)]));
  }
  return out as unknown as HyperParameters;
}

interface Measured extends TrainedPoint {
  point: Point;
  change: string;
}

/**
 * `npm run bench -- landscape`: trains the tiny model's grid through the real trainer (prepare.py, train.py via
 * runTrainer) and evaluates each adapter on the council's suite through mlx_lm.server, then prints every point's
 * scores with its paired comparison against the baseline, the spread and the training-seed noise.
 */
export async function benchLandscape(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg();
  const bench = await openTinyBench('landscape');
  const { config, agents, built, buildSeed, work } = bench;
  const base = baselineValues(agents, bench.space.table);
  const seedOf = (p: Point) => p.seed ?? config.models.training.seed;

  console.log(`landscape: tiny model ${built.modelDir} (build seed ${buildSeed}, ${built.cached ? 'cached' : `built in ${built.buildSeconds.toFixed(0)} s`}), ` +
    `${GRID.length} trainings of ${bench.budgetSeconds} s, batch ${config.models.training.batchSize}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);

  try {
    const baseModel = await runEvaluation({ config, model: built.modelDir, adapterPath: null });
    console.log(`  base model: overall ${fmtScore(baseModel.summary.overall)}, jailbreak ${fmtScore(baseModel.summary.jailbreak)}`);
    const measured: Measured[] = [];
    for (const point of GRID) {
      const values = clampToTable({ ...base, ...point.change(base, agents), EXPERIMENT_HYPOTHESIS: point.why });
      const trained = await trainAndEvaluate(bench, point.name, values, seedOf(point));
      measured.push({ point, change: describeChange(values, base), ...trained });
      console.log(`  ${point.name}: ${trained.iterations} iterations in ${trained.trainSeconds.toFixed(0)} s, val ${trained.valLoss}, overall ${fmtScore(trained.summary.overall)}`);
    }
    report(measured, baseModel.summary, config.council, loadBefore, started);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function report(measured: readonly Measured[], baseModel: EvalSummary, council: Config['council'], loadBefore: number[], started: number): void {
  const baseline = measured.find((m) => m.point.name === 'baseline')!.summary;
  const categories = Object.keys(baseline.perCategory) as (keyof EvalSummary['perCategory'])[];
  const rows = [
    ['base model', '(no adapter)', '-', '-', fmtScore(baseModel.overall), fmtDelta(baseModel.overall - baseline.overall), '-',
      ...categories.map((c) => fmtScore(baseModel.perCategory[c])), fmtDelta(minAgentDelta(baseModel, baseline)), pairedCells(baseModel, baseline)].flat(),
    ...measured.map((m) => [
      m.point.name, m.change, String(m.iterations), m.valLoss, fmtScore(m.summary.overall), fmtDelta(m.summary.overall - baseline.overall),
      fmtDelta(m.summary.overall - baseModel.overall),
      ...categories.map((c) => fmtScore(m.summary.perCategory[c])), fmtDelta(minAgentDelta(m.summary, baseline)),
      m.point.name === 'baseline' ? ['-', '-'] : pairedCells(m.summary, baseline),
    ].flat()),
  ];
  console.log(textTable(['point', 'change', 'iters', 'val loss', 'overall', 'vs baseline', 'vs bare', ...categories, 'worst agent', 'W/L/T', 'p'], rows));
  const family = (m: Measured) => m.point.name.replace(/-seed\d+$/, '');
  const overalls = (name: string) => measured.filter((m) => family(m) === name).map((m) => m.summary.overall);
  const others = measured.filter((m) => family(m) !== 'baseline');
  const best = others.reduce((a, b) => (b.summary.overall > a.summary.overall ? b : a));
  const worst = others.reduce((a, b) => (b.summary.overall < a.summary.overall ? b : a));
  const [seedsBase, seedsGood] = [overalls('baseline'), overalls(KNOWN_GOOD)];
  console.log(`training seeds: baseline ${seedSpread(seedsBase)}; ${KNOWN_GOOD} ${seedSpread(seedsGood)}`);
  console.log(
    `known-good ${KNOWN_GOOD} ${fmtDelta(mean(seedsGood) - mean(seedsBase))} vs the baseline, seed means (goal >= +0.150), ` +
      `${fmtDelta(mean(seedsGood) - baseModel.overall)} vs the bare base model (a night's first reference); ` +
      `best single run ${best.point.name} ${fmtDelta(best.summary.overall - baseline.overall)} vs the baseline's seed 0; ` +
      `worst ${worst.point.name} ${fmtDelta(worst.summary.overall - mean(seedsBase))} vs the baseline's seed mean (goal <= -0.050); ` +
      `spread ${fmtScore(best.summary.overall - worst.summary.overall)}`,
  );
  const summariesOf = (name: string) => measured.filter((m) => family(m) === name).map((m) => m.summary);
  const [good, baselines] = [summariesOf(KNOWN_GOOD), summariesOf('baseline')];
  console.log(leadsLine(categoryLeads(good, baselines), categories));
  const guard = { ...council.noiseGuard, enabled: true };
  const keepsWith = (g: typeof guard) => keepRates(good, baselines, (cand, champ) => applyCouncilRules(cand, champ, council.thresholds, g).decision === 'keep');
  const kept = keepsWith(guard);
  console.log(
    `Council (full rules + noise guard), ${KNOWN_GOOD} against each baseline seed as champion: one run kept ${formatKeepCount(kept.single)}; ` +
      `with a second training seed required to keep too ${formatKeepCount(kept.confirmed)}`,
  );
  const trainingSd = sampleSd(seedsBase);
  const widened = keepsWith({ ...guard, trainingSd });
  console.log(`with council.noiseGuard.trainingSd ${trainingSd.toFixed(4)} (the baseline seeds' SD) instead: one run kept ${formatKeepCount(widened.single)}`);
  console.log(`load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after; ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

/** Where the known-good corner's lead comes from, and how far the categories it moves could take any section. */
function leadsLine(leads: ReturnType<typeof categoryLeads>, categories: readonly (keyof typeof leads)[]): string {
  const { moved, cap } = movedCategories(leads);
  const cells = categories.map((c) => `${c} ${fmtDelta(leads[c].lead)} of ${fmtDelta(leads[c].room)}`);
  return `${KNOWN_GOOD}'s lead by category (seed means, points of overall, of the room above the baseline): ${cells.join(', ')}; ` +
    `the categories where it used a tenth of the room or more (${moved.join(', ') || 'none'}) leave at most ${fmtDelta(cap)} (goal >= +0.150)`;
}

/** The largest drop of any one agent against the baseline (the Council's per-agent rule reads this). */
function minAgentDelta(candidate: EvalSummary, baseline: EvalSummary): number {
  return Math.min(...Object.keys(baseline.perAgent).map((a) => (candidate.perAgent[a] ?? 0) - baseline.perAgent[a]!));
}

function pairedCells(candidate: EvalSummary, baseline: EvalSummary): string[] {
  const p = pairedComparison(candidate, baseline);
  return [`${p.wins}/${p.losses}/${p.ties}`, p.pValue < 0.001 ? '<0.001' : p.pValue.toFixed(3)];
}
