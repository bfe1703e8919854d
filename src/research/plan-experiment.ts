import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeChanges } from '../planner/proposal.js';
import { devOnlyContext } from '../planner/dev-only.js';
import { PlannerFatalError, type InFlightExperiment } from '../planner/types.js';
import type { ExperimentRequest, Mode, RequestedMode, SectionValues, TrainingSummary } from './executor.js';
import { trainingSummarySchema } from './executor.js';
import { hypothesisTextSchema } from './hyperparameters.js';
import type { ChampionLine } from './ledger.js';
import type { LoopDeps } from './loop-deps.js';
import { loadChampion, recordWithoutExecution } from './outcome.js';
import { readResults } from './results-file.js';
import type { ResultRow } from './results-format.js';
import { startingPoint } from './commit-section.js';

/** What planning one experiment produced: a committed proposal, an `invalid` row, or a reason to stop. */
export type PlanStep =
  | { kind: 'committed'; request: ExperimentRequest; changes: SectionValues }
  | { kind: 'invalid'; row: ResultRow }
  | { kind: 'stop'; reason: string }
  | { kind: 'interrupted' };

export type PlanDeps = Pick<LoopDeps, 'planner' | 'section' | 'spaces' | 'agents' | 'ledger' | 'log' | 'models' | 'resultsPath' | 'memoryEventsDir' | 'artifacts' | 'now' | 'fence'>;

/**
 * Asks the planner for experiment `id`, then either commits the proposed section (and nothing else) to git,
 * or records the rejected proposal as an `invalid` row with no commit.
 */
export async function planExperiment(
  deps: PlanDeps,
  id: string,
  requested: RequestedMode,
  expectedMode: Mode,
  signal: AbortSignal,
  where: { line?: ChampionLine; inFlight?: InFlightExperiment[] } = {},
): Promise<PlanStep> {
  const history = readResults(deps.resultsPath).rows;
  const line = where.line ?? deps.ledger;
  // The line's tip, never the work tree: what the planner builds on is what was committed (and evaluated or reverted).
  const head = await line.head();
  const source = await deps.ledger.trainPyAt(head);
  const space = deps.spaces[expectedMode];
  const current = startingPoint(deps, source, head, expectedMode);
  const champion = loadChampion(deps, expectedMode, deps.models[expectedMode]);
  let outcome;
  try {
    outcome = await deps.planner.propose(
      devOnlyContext({
        experimentId: id,
        mode: requested,
        current,
        history,
        champion: champion ? { mode: expectedMode, row: champion.row, summary: champion.summary } : null,
        lastTraining: lastTraining(deps, history),
        agents: deps.agents,
        searchSpace: space,
        specs: space.table.parameters,
        ...(where.inFlight?.length ? { inFlight: where.inFlight } : {}),
      }),
      signal,
    );
  } catch (error) {
    if (!(error instanceof PlannerFatalError) && signal.aborted) return { kind: 'interrupted' };
    throw error;
  }
  if (outcome.kind === 'stop') return { kind: 'stop', reason: `planner ${deps.planner.name}: ${outcome.reason}` };
  if (outcome.kind === 'invalid') {
    const row = await recordWithoutExecution(deps, {
      experimentId: id,
      result: 'invalid',
      commit: null,
      hypothesis: outcome.hypothesis,
      parameters: null,
      reasons: [`the planner's proposal was rejected twice: ${outcome.reasons.join('; ')}`, `proposed: ${JSON.stringify(outcome.raw)?.slice(0, 500)}`],
      proposer: outcome.proposer,
    });
    return { kind: 'invalid', row };
  }
  const { proposal } = outcome;
  // Every planner's hypothesis passes the same boundary, whatever the planner checked itself.
  const text = hypothesisTextSchema.safeParse(proposal.hypothesis);
  if (!text.success) {
    const row = await recordWithoutExecution(deps, {
      experimentId: id,
      result: 'invalid',
      commit: null,
      hypothesis: proposal.hypothesis.replace(/[^\n\t\P{Cc}]|\p{Cs}/gu, '\uFFFD'),
      parameters: null,
      reasons: [`the planner's hypothesis was refused: ${text.error.issues.map((i) => i.message).join('; ')}`],
    });
    return { kind: 'invalid', row };
  }
  const values: SectionValues = { ...proposal.values, EXPERIMENT_HYPOTHESIS: proposal.hypothesis };
  const changes = describeChanges(current, proposal.changes);
  await deps.fence?.();
  const commit = await line.commitExperiment(
    id,
    proposal.hypothesis,
    `Changes: ${changes}\nPlanner: ${deps.planner.name}${outcome.usage ? `, $${outcome.usage.costUsd.toFixed(4)}` : ''}`,
    deps.section.write(source, values, space),
  );
  return {
    kind: 'committed',
    request: { experimentId: id, kind: 'experiment', mode: requested, commit: commit.commit, values, proposer: proposal.proposer },
    changes: proposal.changes,
  };
}

function lastTraining(deps: Pick<LoopDeps, 'artifacts'>, history: readonly ResultRow[]): TrainingSummary | null {
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const file = join(deps.artifacts.logs, history[i]!.experimentId, 'training.json');
    if (existsSync(file)) {
      const parsed = trainingSummarySchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) return parsed.data;
    }
  }
  return null;
}
