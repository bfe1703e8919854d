import { cpus, loadavg } from 'node:os';
import { proposeOffline } from './perturbation-search.js';
import { sectionValidator } from '../src/planner/proposal.js';
import { samplerAdvice } from '../src/planner/sampler.js';
import { SamplerServer, type SamplerName } from '../src/planner/sampler-process.js';
import type { PlannerContext, Proposal } from '../src/planner/types.js';
import { loadConfig } from '../src/config/load.js';
import { loadCouncil } from '../src/council/load.js';
import { loadSuite } from '../src/eval/suite.js';
import { CATEGORIES } from '../src/eval/summary.js';
import { PROJECT_ROOT } from '../src/project.js';
import { applyCouncilRules } from '../src/research/council-rules.js';
import type { SectionValues } from '../src/research/executor.js';
import { baselineValues, searchSpace } from '../src/research/hyperparameters.js';
import type { ResultRow } from '../src/research/results-format.js';
import { FAMILIES, makeObjective, type Family, type Objective, type SuiteLayout } from './planner-objectives.js';
import { median } from '../src/stats/averages.js';
import { rng } from '../src/stats/seeded-random.js';
import { experimentsToReach, medianCurve, reachRatio, showReach, type Reach } from './planner-reach.js';

/**
 * `npm run bench -- planner`: each planner runs a night of EXPERIMENTS experiments on synthetic objectives over
 * the real search space (the seed's `qwen` table), decided by the real Council rules (applyCouncilRules with the
 * configured thresholds and noise guard) on the example suite's dev layout, for
 * REPETITIONS landscapes per family. The measure is the true (noise-free) score of the champion the Council
 * holds after each experiment: what the night actually leaves behind. Printed per family: the median curve,
 * how many repetitions beat random search at the end, and the experiments each planner needs to reach 90% of
 * the achievable gain (the best final median of any planner over the baseline), as a ratio to random's.
 * Random search, which costs nothing to ask, goes on for RANDOM_EXPERIMENTS on the same landscapes, only to
 * count its experiments to that target: within 30 it mostly never gets there, and a ratio against "more than
 * 30" is only a bound. Its 30-experiment columns are the first 30 of that longer night (the night is causal).
 * BENCH_REPS and BENCH_EXPERIMENTS override the sizes, BENCH_RANDOM_EXPERIMENTS random search's horizon, BENCH_FAMILIES and BENCH_PLANNERS (comma-separated) the choice,
 * BENCH_FIRST_LANDSCAPE (default 0) which landscapes are drawn: a sampler setting chosen on some landscapes is
 * checked on others (today's TPE settings were chosen on 0-39), so it is not judged on the ones it was fitted to.
 */
const REPETITIONS = Number(process.env.BENCH_REPS ?? 20);
const EXPERIMENTS = Number(process.env.BENCH_EXPERIMENTS ?? 30);
/** The first landscape's seed: another value draws other landscapes, to check a setting chosen on the default ones. */
const FIRST_LANDSCAPE = Number(process.env.BENCH_FIRST_LANDSCAPE ?? 0);
const RANDOM_EXPERIMENTS = Number(process.env.BENCH_RANDOM_EXPERIMENTS ?? 3 * EXPERIMENTS);
if (!(RANDOM_EXPERIMENTS >= EXPERIMENTS)) throw new Error(`BENCH_RANDOM_EXPERIMENTS (${RANDOM_EXPERIMENTS}) must be at least BENCH_EXPERIMENTS (${EXPERIMENTS})`);
const CONFIG = loadConfig({ cwd: PROJECT_ROOT, env: { ...process.env, REDIS_URL: '' } });
const THRESHOLDS = CONFIG.council.thresholds;
const NOISE_GUARD = CONFIG.council.noiseGuard;
const COUNCIL = loadCouncil(CONFIG.council.dir);
const AGENTS = COUNCIL.agents.map((a) => a.id);
const SPACE = searchSpace('qwen');

/** Dev cases per category for one agent of the configured suite (the mean over agents, rounded). */
function devLayout(): SuiteLayout {
  const dev = loadSuite(COUNCIL).cases.filter((c) => c.split === 'dev');
  return Object.fromEntries(CATEGORIES.map((cat) => [cat, Math.max(1, Math.round(dev.filter((c) => c.category === cat).length / AGENTS.length))])) as SuiteLayout;
}

type PlannerName = 'perturbation' | SamplerName;

interface Night {
  /** The champion's true score after 0..n experiments. */
  curve: number[];
  /** The Council's decision on each experiment, null where the planner had no proposal (the night goes on without it). */
  decisions: (ResultRow['result'] | null)[];
}

/** The first `experiments` experiments of a night, what a night of that length would have been. */
const firstOf = (n: Night, experiments: number): Night => ({ curve: n.curve.slice(0, experiments + 1), decisions: n.decisions.slice(0, experiments) });
const count = (ns: readonly Night[], decision: ResultRow['result'] | null) => ns.reduce((s, n) => s + n.decisions.filter((d) => d === decision).length, 0);

type Propose = (context: PlannerContext, seed: number) => Promise<Proposal | null>;

function row(id: string, result: ResultRow['result'], values: SectionValues, summary: { overall: number; jailbreak: number; perAgent: Record<string, number> } | null): ResultRow {
  return {
    experimentId: id, result, score: summary?.overall ?? null, jailbreak: summary?.jailbreak ?? null,
    agents: Object.fromEntries(AGENTS.map((a) => [a, summary?.perAgent[a] ?? null])), mode: 'proxy', model: 'synthetic', commit: null,
    hypothesis: '', parameters: values, trainLoss: null, valLoss: null, trainSeconds: null, evalSeconds: null, wins: null, losses: null,
    p: null, reasons: [], adapterSha256: null, timestamp: '2026-12-01T00:00:00.000Z', holdout: null, proposer: null,
  };
}

async function night(objective: Objective, propose: Propose, seed: number, experiments: number): Promise<Night> {
  const specs = SPACE.table.parameters;
  const draw = rng(seed * 104_729 + 3);
  let current = baselineValues(AGENTS, SPACE.table) as unknown as SectionValues;
  let championSummary = objective.evaluate(current, 'base', draw);
  let championRow = row('base', 'base', current, championSummary);
  const history: ResultRow[] = [championRow];
  const curve = [objective.trueScore(current)];
  const decisions: Night['decisions'] = [];
  for (let k = 1; k <= experiments; k += 1) {
    const id = `exp-${k}`;
    const context: PlannerContext = {
      experimentId: id, mode: 'proxy', current, history: [...history], champion: { mode: 'proxy', row: championRow, summary: championSummary },
      lastTraining: null, agents: AGENTS, searchSpace: SPACE, specs,
    };
    const proposal = await propose(context, seed);
    if (!proposal) {
      decisions.push(null);
      curve.push(curve.at(-1)!);
      continue;
    }
    const summary = objective.evaluate(proposal.values, id, draw);
    const decision = applyCouncilRules(summary, championSummary, THRESHOLDS, NOISE_GUARD).decision;
    const r = row(id, decision, proposal.values, summary);
    history.push(r);
    decisions.push(decision);
    if (decision === 'keep') {
      current = proposal.values;
      championSummary = summary;
      championRow = r;
    }
    curve.push(objective.trueScore(current));
  }
  return { curve, decisions };
}

function samplerPropose(server: SamplerServer, sampler: SamplerName): Propose {
  const validate = sectionValidator(AGENTS);
  return async (context, seed) => {
    const advice = await samplerAdvice(context, { sampler, seed, thresholds: THRESHOLDS, validate, client: server }, 1);
    return advice.candidates[0] ?? null;
  };
}

const perturbation: Propose = (context, seed) => {
  const out = proposeOffline(context, seed);
  return Promise.resolve(out.kind === 'proposal' ? out.proposal : null);
};

async function available(server: SamplerServer, sampler: SamplerName): Promise<string | null> {
  const specs = SPACE.table.parameters;
  const current = baselineValues(AGENTS, SPACE.table) as unknown as SectionValues;
  try {
    await samplerPropose(server, sampler)({ experimentId: 'probe', mode: 'proxy', current, history: [], champion: null, lastTraining: null, agents: AGENTS, searchSpace: SPACE, specs }, 0);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

export async function benchPlanner(): Promise<void> {
  const started = Date.now();
  const load0 = loadavg();
  const server = new SamplerServer();
  const planners = (process.env.BENCH_PLANNERS?.split(',') ?? ['random', 'perturbation', 'tpe', 'cmaes', 'gp']) as PlannerName[];
  const active: PlannerName[] = [];
  for (const p of planners) {
    const why = p === 'perturbation' ? null : await available(server, p);
    if (why) console.log(`planner: ${p} skipped: ${why}`);
    else active.push(p);
  }
  const layout = devLayout();
  const families = (process.env.BENCH_FAMILIES?.split(',') ?? Object.keys(FAMILIES)) as Family[];
  console.log(`planner: ${REPETITIONS} repetitions (landscapes ${FIRST_LANDSCAPE} to ${FIRST_LANDSCAPE + REPETITIONS - 1}) x ${EXPERIMENTS} experiments per family (random search also to ${RANDOM_EXPERIMENTS}, to count its experiments to 90%); Council thresholds ${JSON.stringify(THRESHOLDS)}, noise guard ${JSON.stringify(NOISE_GUARD)}; dev layout per agent ${JSON.stringify(layout)}; ${cpus().length} cores, load ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const lines: string[] = [];
  for (const family of families) {
    const nights = new Map<PlannerName, Night[]>(active.map((p) => [p, []]));
    const longRandom: Night[] = [];
    const specs = SPACE.table.parameters;
    const noise: number[] = [];
    let optimum = 0;
    let baseline = 0;
    for (let rep = FIRST_LANDSCAPE; rep < FIRST_LANDSCAPE + REPETITIONS; rep += 1) {
      const objective = makeObjective(family, specs, AGENTS, rep, layout);
      optimum += objective.optimum / REPETITIONS;
      const base = baselineValues(AGENTS, SPACE.table) as unknown as SectionValues;
      baseline += objective.trueScore(base) / REPETITIONS;
      const d = rng(rep);
      const draws = Array.from({ length: 20 }, (_, i) => objective.evaluate(base, `n${i}`, d).overall);
      const m = draws.reduce((s, x) => s + x, 0) / draws.length;
      noise.push(Math.sqrt(draws.reduce((s, x) => s + (x - m) ** 2, 0) / (draws.length - 1)));
      for (const p of active) {
        const propose = p === 'perturbation' ? perturbation : samplerPropose(server, p);
        if (p === 'random') {
          const long = await night(objective, propose, rep, RANDOM_EXPERIMENTS);
          longRandom.push(long);
          nights.get(p)!.push(firstOf(long, EXPERIMENTS));
        } else nights.get(p)!.push(await night(objective, propose, rep, EXPERIMENTS));
      }
    }
    const medians = new Map(active.map((p) => [p, medianCurve(nights.get(p)!.map((n) => n.curve), EXPERIMENTS + 1)]));
    const base = medians.get(active[0]!)![0]!;
    // The target stays defined at 30 experiments: random search's longer night only counts, it sets no level.
    const achievable = Math.max(...active.map((p) => medians.get(p)!.at(-1)!));
    const target = base + 0.9 * (achievable - base);
    const longRandomMedian = longRandom.length ? medianCurve(longRandom.map((n) => n.curve), RANDOM_EXPERIMENTS + 1) : null;
    const reachOf = (p: PlannerName, level: number): Reach =>
      p === 'random' && longRandomMedian
        ? { experiments: experimentsToReach(longRandomMedian, level), horizon: RANDOM_EXPERIMENTS }
        : { experiments: experimentsToReach(medians.get(p)!, level), horizon: EXPERIMENTS };
    const randomReach = longRandomMedian ? reachOf('random', target) : null;
    const randomLevel = medians.get('random')?.at(-1) ?? null;
    const randomFinal = nights.get('random')?.map((n) => n.curve.at(-1)!) ?? null;
    const head = `\n${family}: ${FAMILIES[family]}\n  true score: baseline ${baseline.toFixed(3)}, optimum ${optimum.toFixed(3)} (means over landscapes); noise sd of the overall score at the baseline ${median(noise).toFixed(3)} (median)`;
    lines.push(head);
    const ks = [0, 5, 10, 15, 20, 25, EXPERIMENTS];
    lines.push(`  ${'planner'.padEnd(13)} ${ks.map((k) => `@${k}`.padStart(6)).join(' ')}  keeps vetoes(jb/reg)  beats-random  to-90%  ratio  to-random@${EXPERIMENTS}  ratio  no-proposal`);
    for (const p of active) {
      const m = medians.get(p)!;
      const ns = nights.get(p)!;
      const wins = randomFinal && p !== 'random' ? `${ns.filter((n, i) => n.curve.at(-1)! > randomFinal[i]!).length}/${ns.length}` : '-';
      const r = reachOf(p, target);
      const ratio = randomReach ? reachRatio(r, randomReach) : '-';
      // Random search's own final median at EXPERIMENTS: both counts within EXPERIMENTS, as before the longer night.
      const rr: Reach | null = randomLevel === null ? null : { experiments: experimentsToReach(m, randomLevel), horizon: EXPERIMENTS };
      const rrRatio = rr === null || randomLevel === null ? '-' : reachRatio(rr, { experiments: experimentsToReach(medians.get('random')!, randomLevel), horizon: EXPERIMENTS });
      lines.push(
        `  ${p.padEnd(13)} ${ks.map((k) => m[k]!.toFixed(3).padStart(6)).join(' ')}  ${String(count(ns, 'keep')).padStart(5)} ${`${count(ns, 'veto-jailbreak')}/${count(ns, 'veto-regression')}`.padStart(13)}  ${wins.padStart(12)}  ${showReach(r).padStart(6)}  ${ratio.padStart(5)}  ${(rr ? showReach(rr) : '-').padStart(12)}  ${rrRatio.padStart(5)}  ${String(count(ns, null)).padStart(11)}`,
      );
    }
    lines.push(
      `  to-90%: experiments until the median reaches 90% of the achievable gain, ${target.toFixed(3)} (achievable: the best final median at ${EXPERIMENTS}, ${achievable.toFixed(3)}); ` +
        `to-random@${EXPERIMENTS}: experiments until the median reaches random search's final median${randomLevel === null ? '' : ` (${randomLevel.toFixed(3)})`}`,
    );
    if (longRandomMedian) {
      const marks = [EXPERIMENTS, 2 * EXPERIMENTS, RANDOM_EXPERIMENTS].filter((k, i, a) => k <= RANDOM_EXPERIMENTS && a.indexOf(k) === i);
      lines.push(
        `  random search's count comes from the same landscapes run to ${RANDOM_EXPERIMENTS} experiments (median ${marks.map((k) => `@${k} ${longRandomMedian[k]!.toFixed(3)}`).join(', ')}; ` +
          `keeps ${count(longRandom, 'keep')}, vetoes ${count(longRandom, 'veto-jailbreak')}/${count(longRandom, 'veto-regression')}): ` +
          (randomReach!.experiments === null ? `it never reaches the target, so every ratio is an upper bound against ${RANDOM_EXPERIMENTS + 1}` : `it reaches the target at ${randomReach!.experiments}`),
      );
    }
    console.log(lines.splice(0).join('\n'));
  }
  await server.close();
  console.log(`\nplanner: wall time ${((Date.now() - started) / 1000).toFixed(0)} s; load before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
