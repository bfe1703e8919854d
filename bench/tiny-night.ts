import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pairedComparison } from '../src/eval/paired.js';
import { runEvaluation } from '../src/eval/run.js';
import type { EvalSummary } from '../src/eval/summary.js';
import { fmtScore, textTable } from '../src/eval/table.js';
import { sectionValidator } from '../src/planner/proposal.js';
import { samplerAdvice } from '../src/planner/sampler.js';
import { SamplerServer, type SamplerName } from '../src/planner/sampler-process.js';
import { applyCouncilRules } from '../src/research/council-rules.js';
import type { SectionValues } from '../src/research/executor.js';
import { baselineValues, type HyperParameters } from '../src/research/hyperparameters.js';
import type { ResultRow } from '../src/research/results-format.js';
import { describeChange, openTinyBench, trainAndEvaluate } from './tiny-point.js';

/**
 * `npm run bench -- tiny-night`: a short night per sampler on the tiny model's real landscape (issue 13 asks for
 * it beside the synthetic benchmark). Each planner starts from the same base-model baseline and proposes
 * TINY_NIGHT_EXPERIMENTS experiments (default 6) through the real sampler; each is trained (prepare.py, train.py)
 * under LANDSCAPE_BUDGET_SECONDS (default 45), evaluated through mlx_lm.server and decided by the real Council
 * rules with the configured noise guard; a keep moves the champion. One night per planner is one sample, so
 * the table says what happened, not which planner is better.
 */
export async function benchTinyNight(): Promise<void> {
  const started = Date.now();
  const load0 = loadavg();
  const experiments = Number(process.env.TINY_NIGHT_EXPERIMENTS ?? 6);
  if (!Number.isInteger(experiments) || experiments < 1) throw new Error(`TINY_NIGHT_EXPERIMENTS must be a whole number >= 1, got "${process.env.TINY_NIGHT_EXPERIMENTS}"`);
  const planners = (process.env.BENCH_PLANNERS?.split(',') ?? ['random', 'tpe']) as SamplerName[];
  const bench = await openTinyBench('tiny-night');
  const { config, space, built, work } = bench;
  const agents = [...bench.agents];
  const server = new SamplerServer();
  const { thresholds, noiseGuard } = config.council;
  console.log(`tiny-night: ${planners.join(', ')}, ${experiments} experiments each, ${bench.budgetSeconds} s budget, model ${built.modelDir}; ` +
    `noise guard ${JSON.stringify(noiseGuard)}; load ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  try {
    const base = await runEvaluation({ config, model: built.modelDir, adapterPath: null });
    const baseline = baselineValues(agents, space.table) as unknown as SectionValues;
    console.log(`  base model: overall ${fmtScore(base.summary.overall)}, jailbreak ${fmtScore(base.summary.jailbreak)}`);
    const summaries: string[][] = [];
    for (const sampler of planners) {
      const validate = sectionValidator(agents);
      let champion = { row: resultRow('base', 'base', baseline, base.summary, built.modelDir), summary: base.summary };
      let current = baseline;
      const history: ResultRow[] = [champion.row];
      const lines: string[][] = [];
      for (let k = 1; k <= experiments; k += 1) {
        const id = `${sampler}-${k}`;
        const advice = await samplerAdvice(
          { experimentId: id, mode: 'proxy', current, history: [...history], champion: { mode: 'proxy', ...champion }, lastTraining: null, agents, searchSpace: space, specs: space.table.parameters },
          { sampler, seed: config.planner.seed, thresholds, validate, client: server },
          1,
        );
        const proposal = advice.candidates[0];
        if (!proposal) {
          lines.push([id, '(no proposal: the space is exhausted)', '-', '-', '-', '-', '-']);
          continue;
        }
        const trained = await trainAndEvaluate(bench, id, proposal.values as unknown as HyperParameters, config.models.training.seed);
        const decision = applyCouncilRules(trained.summary, champion.summary, thresholds, noiseGuard);
        const row = resultRow(id, decision.decision, proposal.values, trained.summary, built.modelDir);
        history.push(row);
        const paired = pairedComparison(trained.summary, champion.summary);
        lines.push([id, describeChange(proposal.values as unknown as HyperParameters, baseline as unknown as HyperParameters), String(trained.iterations), fmtScore(trained.summary.overall), fmtScore(trained.summary.jailbreak),
          `${paired.wins}/${paired.losses}`, decision.decision]);
        console.log(`  ${id}: ${trained.iterations} iterations, overall ${fmtScore(trained.summary.overall)}, ${decision.decision}`);
        if (decision.decision === 'keep') {
          champion = { row, summary: trained.summary };
          current = proposal.values;
        }
      }
      console.log(textTable(['experiment', 'section (vs the table baseline)', 'iters', 'overall', 'jailbreak', 'W/L vs champion', 'decision'], lines));
      const measured = history.slice(1).map((r) => r.score ?? 0);
      summaries.push([sampler, fmtScore(champion.summary.overall), fmtScore(champion.summary.overall - base.summary.overall),
        fmtScore(Math.max(...measured)), String(history.filter((r) => r.result === 'keep').length),
        String(history.filter((r) => r.result.startsWith('veto')).length)]);
    }
    console.log(textTable(['planner', 'champion after the night', 'gain over base', 'best measured', 'keeps', 'vetoes'], summaries));
    console.log(`load ${load0.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after; ${((Date.now() - started) / 60000).toFixed(1)} min`);
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function resultRow(id: string, result: ResultRow['result'], values: SectionValues, summary: EvalSummary, model: string): ResultRow {
  return {
    experimentId: id, result, score: summary.overall, jailbreak: summary.jailbreak, agents: { ...summary.perAgent }, mode: 'proxy', model,
    commit: null, hypothesis: String(values.EXPERIMENT_HYPOTHESIS ?? ''), parameters: values, trainLoss: null, valLoss: null, trainSeconds: null,
    evalSeconds: null, wins: null, losses: null, p: null, reasons: [], adapterSha256: summary.adapterSha256 ?? null,
    timestamp: new Date().toISOString(), holdout: summary.holdout?.overall ?? null, proposer: result === 'base' ? 'baseline' : 'sampler',
  };
}
