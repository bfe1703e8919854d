import type { CouncilThresholds } from '../research/council-rules.js';
import type { SectionValues } from '../research/executor.js';
import { checkProposal, describeChanges, type ValuesValidator } from './proposal.js';
import type { ProposeResponse, SamplerClient, SamplerName } from './sampler-process.js';
import { HYPOTHESIS_KEY } from './search-space.js';
import { sectionFromParams, studyAxes, studyInput } from './study.js';
import type { PlanOutcome, Planner, PlannerContext, Proposal } from './types.js';

/**
 * The offline planner: an Optuna sampler (TPE by default; GP, CMA-ES or random) over the ranges table, fed
 * with results.tsv on every call (python/planner.py). It proposes whole configurations, so several parameters
 * may change at once; the hypothesis names them and says why the sampler went there. Deterministic for a
 * seed and a history, and never a configuration already tried.
 */
export interface SamplerPlannerOptions {
  sampler: SamplerName;
  seed: number;
  thresholds: CouncilThresholds;
  validate: ValuesValidator;
  client: SamplerClient;
}

export interface SamplerAdvice {
  /** The sampler's candidates in its order of preference (the first is what it would run). */
  candidates: Proposal[];
  /** Parameter importances from the decided trials of this mode (PED-ANOVA), or null with too few trials. */
  importances: Record<string, number> | null;
}

export const SAMPLER_LABEL: Record<SamplerName, string> = { tpe: 'TPE', gp: 'GP', cmaes: 'CMA-ES', random: 'random search' };

/** Asks the sampler for up to `n` candidates, each checked against the ranges and the history. */
export async function samplerAdvice(context: PlannerContext, options: SamplerPlannerOptions, n: number, signal?: AbortSignal): Promise<SamplerAdvice & { exhausted: boolean; decided: number }> {
  const input = studyInput(context, options.thresholds);
  const answer: ProposeResponse = await options.client.propose(
    { command: 'propose', sampler: options.sampler, seed: options.seed, candidates: n, ...input },
    signal,
  );
  const { axes } = studyAxes(context);
  const candidates: Proposal[] = [];
  for (const c of answer.candidates) {
    const values = sectionFromParams(context.current, axes, c.params);
    const changes: SectionValues = Object.fromEntries(
      Object.entries(values).filter(([k, v]) => k !== HYPOTHESIS_KEY && JSON.stringify(v) !== JSON.stringify(context.current[k])),
    );
    const hypothesis = hypothesisFor(context, changes, c.why, answer, options.sampler);
    const checked = checkProposal({ hypothesis, changes }, context, options.validate, 'sampler');
    if (checked.ok) candidates.push(checked.proposal);
  }
  return { candidates, importances: answer.importances, exhausted: answer.exhausted, decided: answer.decided };
}

function hypothesisFor(context: PlannerContext, changes: SectionValues, why: string, answer: ProposeResponse, sampler: SamplerName): string {
  const top = answer.importances
    ? Object.entries(answer.importances)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')
    : null;
  const text =
    `${describeChanges(context.current, changes)}: tests whether this region scores at least the promotion margin above the champion ` +
    `without a veto. Chosen by ${SAMPLER_LABEL[sampler]} from ${answer.decided} decided experiments of this mode: ${why}.` +
    (top ? ` Most important parameters so far: ${top}.` : '');
  return text.length <= 2000 ? text : `${text.slice(0, 1997)}...`;
}

export function samplerPlanner(options: SamplerPlannerOptions): Planner {
  return {
    name: `offline (${SAMPLER_LABEL[options.sampler]})`,
    async propose(context: PlannerContext, signal?: AbortSignal): Promise<PlanOutcome> {
      const advice = await samplerAdvice(context, options, 1, signal);
      const first = advice.candidates[0];
      if (!first) {
        return { kind: 'stop', reason: `${SAMPLER_LABEL[options.sampler]} found no untried configuration in the ranges`, usage: null };
      }
      return { kind: 'proposal', proposal: first, usage: null };
    },
  };
}
