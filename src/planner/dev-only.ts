import type { PlannerContext } from './types.js';

/**
 * What a planner may see: the dev split only. Holdout scores exist to show whether the loop overfits the suite;
 * a planner that saw them would be tuning on them too. Strips the holdout column from every history row and the
 * holdout cases and aggregate from the champion's summary. Pure and idempotent.
 */
export function devOnlyContext(context: PlannerContext): PlannerContext {
  const champion = context.champion;
  const devCases = champion ? champion.summary.cases.filter((c) => c.split === 'dev') : [];
  return {
    ...context,
    history: context.history.map((row) => ({ ...row, holdout: null })),
    champion: champion
      ? {
          ...champion,
          row: { ...champion.row, holdout: null },
          summary: { ...champion.summary, cases: devCases, nCases: devCases.length, holdout: null },
        }
      : null,
  };
}
