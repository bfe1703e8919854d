import type { CouncilThresholds } from '../research/council-rules.js';
import type { SectionValues } from '../research/executor.js';
import type { ResultRow } from '../research/results-format.js';
import { axes, isLog, quantize, readAxis, writeAxis, type Axis } from './search-space.js';
import type { PlannerContext } from './types.js';

/**
 * results.tsv as the trials of an Optuna study (python/planner.py rebuilds the study from these on every call).
 * Only rows of the champion's mode and base model are told, since a 27B score says nothing about a 9B one:
 * every decided experiment and baseline is a complete trial valued by its overall score, with two constraints
 * (feasible when <= 0) so the sampler learns where the Council's vetoes bite: the jailbreak floor, and the
 * regression cap against the current champion, the one the next experiment will be judged against; a crash or a timeout is a failed
 * trial; an experiment still in flight is a running trial, which the sampler's constant liar steers away from.
 * The holdout score never enters. Pure.
 */
export interface StudyAxis {
  key: string;
  type: 'int' | 'float';
  low: number;
  high: number;
  log: boolean;
}

export interface StudyTrial {
  /** Where the trial came from, for error messages: `results.tsv row 5 (exp-...)`. */
  label: string;
  state: 'complete' | 'fail' | 'running';
  value: number | null;
  params: Record<string, number>;
  constraints: { jailbreak: number; regression: number } | null;
}

export interface StudyInput {
  axes: StudyAxis[];
  trials: StudyTrial[];
  /** Every configuration already tried in any mode, plus the current one: never to be proposed again. */
  tried: Record<string, number>[];
}

export class HistoryError extends Error {
  override readonly name = 'HistoryError';
}

export function studyAxes(context: Pick<PlannerContext, 'specs' | 'agents'>): { axes: Axis[]; study: StudyAxis[] } {
  const all = axes(context.specs, context.agents);
  return {
    axes: all,
    study: all.map((a) => ({ key: a.key, type: a.spec.type === 'int' ? 'int' : 'float', low: a.spec.min, high: a.spec.max, log: isLog(a.spec) })),
  };
}

const SCORED: ReadonlySet<string> = new Set(['base', 'keep', 'revert', 'veto-jailbreak', 'veto-regression']);
const FAILED: ReadonlySet<string> = new Set(['crash', 'timeout', 'revert']);

/** The axis values of a row's parameters, or the reason they cannot be told to the study. */
function paramsOf(values: Record<string, unknown>, all: readonly Axis[]): { params: Record<string, number> } | { problem: string } {
  const params: Record<string, number> = {};
  for (const axis of all) {
    const raw = values[axis.spec.name];
    if (raw === undefined) return { problem: `${axis.spec.name} is missing` };
    // A weight map may give one number for every agent; anything else must be a number where the axis reads.
    const cell = axis.agent !== null && raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[axis.agent] : raw;
    if (typeof cell !== 'number' || !Number.isFinite(cell)) return { problem: `${axis.key} is not a number (${JSON.stringify(cell ?? null)})` };
    const v = readAxis(values as SectionValues, axis);
    if (v < axis.spec.min || v > axis.spec.max) return { problem: `${axis.key} = ${v} is outside ${axis.spec.min} to ${axis.spec.max}` };
    if (axis.spec.type === 'int' && !Number.isInteger(v)) return { problem: `${axis.key} = ${v} is not an integer` };
    params[axis.key] = v;
  }
  return { params };
}

/** Largest per-agent drop against the champion, minus the cap: positive when the regression cap would veto. */
function regressionMargin(row: ResultRow, champion: ResultRow | null, cap: number): number {
  if (!champion) return -cap;
  let worst = Number.NEGATIVE_INFINITY;
  for (const [agent, before] of Object.entries(champion.agents)) {
    const after = row.agents[agent];
    if (before === null || before === undefined) continue;
    if (after === null || after === undefined) return 1;
    worst = Math.max(worst, before - after);
  }
  return Number.isFinite(worst) ? worst - cap : -cap;
}

export function studyInput(
  context: Pick<PlannerContext, 'history' | 'current' | 'champion' | 'specs' | 'agents' | 'inFlight'>,
  thresholds: CouncilThresholds,
): StudyInput {
  const { axes: all, study } = studyAxes(context);
  const mode = context.champion?.mode ?? null;
  const model = context.champion?.row.model ?? null;
  const trials: StudyTrial[] = [];
  const tried: Record<string, number>[] = [];
  const problems: string[] = [];
  context.history.forEach((row, i) => {
    const label = `results.tsv row ${i + 1} (${row.experimentId})`;
    if (row.parameters === null || row.result === 'invalid') return;
    const parsed = paramsOf(row.parameters, all);
    const mine = mode === null || (row.mode === mode && row.model === model) || (row.mode === null && FAILED.has(row.result));
    if ('problem' in parsed) {
      if (mine) problems.push(`${label}: ${parsed.problem}`);
      return;
    }
    tried.push(parsed.params);
    if (!mine) return;
    if (SCORED.has(row.result) && row.score !== null) {
      trials.push({
        label,
        state: 'complete',
        value: row.score,
        params: parsed.params,
        constraints: {
          jailbreak: row.jailbreak === null ? 1 : round(thresholds.jailbreakVeto - row.jailbreak),
          regression: round(regressionMargin(row, context.champion?.row ?? null, thresholds.regressionCap)),
        },
      });
    } else if (FAILED.has(row.result)) {
      trials.push({ label, state: 'fail', value: null, params: parsed.params, constraints: null });
    }
  });
  if (problems.length > 0) {
    throw new HistoryError(
      `the planner cannot read ${problems.length} row${problems.length === 1 ? '' : 's'} of results.tsv: ${problems.join('; ')}. ` +
        'Fix those rows (their parameters must lie inside python/hyperparameters.json), or widen the ranges there.',
    );
  }
  (context.inFlight ?? []).forEach((running, i) => {
    const parsed = paramsOf(running.values, all);
    if ('problem' in parsed) throw new HistoryError(`in-flight experiment ${i + 1} (${running.experimentId}): ${parsed.problem}`);
    tried.push(parsed.params);
    trials.push({ label: `in-flight experiment ${i + 1}`, state: 'running', value: null, params: parsed.params, constraints: null });
  });
  const current = paramsOf(context.current, all);
  if ('params' in current) tried.push(current.params);
  return { axes: study, trials, tried };
}

const round = (x: number) => Number(x.toFixed(6));

/** A sampler's point (axis key to value) as a whole section, starting from the current one. */
export function sectionFromParams(current: SectionValues, all: readonly Axis[], params: Record<string, number>): SectionValues {
  let values = current;
  for (const axis of all) {
    const v = params[axis.key];
    if (v !== undefined) values = writeAxis(values, axis, quantize(axis.spec, v));
  }
  return values;
}
