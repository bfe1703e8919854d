import type { EvalSummary } from '../eval/summary.js';
import type { Mode, RequestedMode, SectionValues, TrainingSummary } from '../research/executor.js';
import type { ResultRow } from '../research/results-format.js';

export type { ParamSpec } from '../research/hyperparameters.js';
import type { ParamSpec, SearchSpace } from '../research/hyperparameters.js';

/** What a planner sees before proposing: everything is read from files the loop owns, never from memory. */
export interface PlannerContext {
  experimentId: string;
  mode: RequestedMode;
  /** The section as it stands at the champion's commit (without the hypothesis). */
  current: SectionValues;
  /** Every row of results.tsv, oldest first. */
  history: ResultRow[];
  /** The champion this experiment will be judged against, when its mode is known and it has scores. */
  champion: { mode: Mode; row: ResultRow; summary: EvalSummary } | null;
  lastTraining: TrainingSummary | null;
  agents: string[];
  /** The search space of the mode this experiment is planned for (its base model's table). */
  searchSpace: SearchSpace;
  /** The search space's parameters: what may change, within which ranges, from which baselines. */
  specs: ParamSpec[];
  /**
   * Experiments submitted and not yet decided (several in flight, `run.maxInFlight`), oldest first: a planner
   * must not propose one of these configurations again, and samplers treat them as running trials. Absent or
   * empty when nothing else is in flight.
   */
  inFlight?: InFlightExperiment[];
  /** Hybrid planner only: what the sampler would run, for Claude to pick from, adjust or overrule. */
  advice?: PlannerAdvice;
}

export interface InFlightExperiment {
  experimentId: string;
  /** The mode it was submitted in (`auto` for one a serial run left behind). */
  mode: RequestedMode;
  /** Its full section, hypothesis included. */
  values: SectionValues;
}

export interface PlannerAdvice {
  sampler: string;
  /** In the sampler's order of preference; `changes` are relative to `current`, ready to pass as they are. */
  candidates: { changes: SectionValues; why: string }[];
  /** Parameter importance over this mode's decided experiments, or null with too few of them. */
  importances: Record<string, number> | null;
  decided: number;
  /** The latest memory events (Markdown), newest last. */
  memoryEvents: string[];
}

export interface PlannerUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  costUsd: number;
  requestIds: string[];
}

export interface Proposal {
  hypothesis: string;
  /** Only the parameters that change, as proposed. */
  changes: SectionValues;
  /** The full section after applying the changes, validated against the ranges. */
  values: SectionValues;
  /** Who chose it, for results.tsv's `proposer` column. */
  proposer: Proposer;
}

/** results.tsv's `proposer` column: the sampler, Claude, a hand edit (`autoresearch experiment`), or a baseline. */
export type Proposer = 'sampler' | 'claude' | 'hand' | 'baseline';

export type PlanOutcome =
  | { kind: 'proposal'; proposal: Proposal; usage: PlannerUsage | null }
  /** The planner answered, but twice with something the ranges reject: logged as an `invalid` row. */
  | { kind: 'invalid'; hypothesis: string; reasons: string[]; raw: unknown; usage: PlannerUsage | null; proposer: Proposer }
  /** Planning cannot continue tonight (cost cap, API unavailable after retries, search space exhausted). */
  | { kind: 'stop'; reason: string; usage: PlannerUsage | null };

export interface Planner {
  readonly name: string;
  propose(context: PlannerContext, signal?: AbortSignal): Promise<PlanOutcome>;
}

/** The run cannot go on with this planner, whatever the next experiment would be (e.g. the API key is rejected). */
export class PlannerFatalError extends Error {
  override readonly name = 'PlannerFatalError';
  readonly exitCode = 1;
}
