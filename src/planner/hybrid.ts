import type { Logger } from '../log.js';
import { samplerAdvice, SAMPLER_LABEL, type SamplerPlannerOptions } from './sampler.js';
import type { PlanOutcome, Planner, PlannerContext } from './types.js';

/**
 * The hybrid planner: the Optuna sampler owns the search and proposes every experiment, except a share of them
 * (default 30%) where Claude gets the sampler's candidates, the parameter importances and the latest memory
 * events with the usual context, and picks one, adjusts it or proposes its own. Which experiments go to Claude
 * depends only on how many experiments results.tsv holds, so a restart makes the same choice. When Claude
 * cannot answer tonight (cost cap, API down), the sampler's first choice runs instead.
 */
export interface HybridPlannerOptions {
  sampler: SamplerPlannerOptions;
  claude: Planner;
  claudeShare: number;
  candidates: number;
  /** The latest memory events, newest last (read from paths.memoryEvents by the wiring). */
  memoryEvents: (context: PlannerContext) => string[];
  log: Logger;
}

/** Experiment number `n` (0-based) goes to Claude when it carries the running share past a whole number. */
export function isClaudeTurn(n: number, share: number): boolean {
  return Math.floor((n + 1) * share + 1e-9) > Math.floor(n * share + 1e-9);
}

export function experimentsSoFar(context: Pick<PlannerContext, 'history'>): number {
  return context.history.filter((r) => r.result !== 'base').length;
}

export function hybridPlanner(options: HybridPlannerOptions): Planner {
  return {
    name: `hybrid (${SAMPLER_LABEL[options.sampler.sampler]} + ${options.claude.name}, ${Math.round(options.claudeShare * 100)}% Claude)`,
    async propose(context: PlannerContext, signal?: AbortSignal): Promise<PlanOutcome> {
      const turn = isClaudeTurn(experimentsSoFar(context), options.claudeShare);
      const advice = await samplerAdvice(context, options.sampler, turn ? options.candidates : 1, signal);
      const first = advice.candidates[0];
      if (!turn || !first) {
        if (!first) return { kind: 'stop', reason: `${SAMPLER_LABEL[options.sampler.sampler]} found no untried configuration in the ranges`, usage: null };
        return { kind: 'proposal', proposal: first, usage: null };
      }
      const outcome = await options.claude.propose(
        {
          ...context,
          advice: {
            sampler: SAMPLER_LABEL[options.sampler.sampler],
            candidates: advice.candidates.map((c) => ({ changes: c.changes, why: c.hypothesis })),
            importances: advice.importances,
            decided: advice.decided,
            memoryEvents: options.memoryEvents(context),
          },
        },
        signal,
      );
      if (outcome.kind === 'stop') {
        options.log.warn({ experimentId: context.experimentId, reason: outcome.reason }, "Claude cannot plan this experiment: the sampler's first choice runs instead");
        return { kind: 'proposal', proposal: first, usage: outcome.usage };
      }
      return outcome;
    },
  };
}
