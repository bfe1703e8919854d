import type { ResultKind, ResultRow } from '../../research/results-format.js';

/** How a row is drawn and named on the dashboard. */
export type Outcome = 'baseline' | 'kept' | 'reverted' | 'vetoed' | 'failed';

export function outcomeOf(result: ResultKind): Outcome {
  switch (result) {
    case 'base':
      return 'baseline';
    case 'keep':
      return 'kept';
    case 'revert':
      return 'reverted';
    case 'veto-jailbreak':
    case 'veto-regression':
      return 'vetoed';
    default:
      return 'failed';
  }
}

export interface ExperimentView {
  /** 1-based position in results.tsv: the chart's x axis. */
  index: number;
  row: ResultRow;
  outcome: Outcome;
  /** `proxy · Qwen3.5-9B`: champions are kept per mode and base model, so lines and deltas are too. */
  group: string;
  /** The champion this row was judged against (same group), if any. */
  championIndex: number | null;
  scoreDelta: number | null;
  jailbreakDelta: number | null;
  /** Holdout overall against the champion's; null when either has none (rows from before the holdout). */
  holdoutDelta: number | null;
  agentDeltas: Record<string, number | null>;
}

export interface StepLine {
  group: string;
  /** (x, y) corners of the running best: the champion's score from each base or keep on. */
  points: Array<{ index: number; score: number }>;
}

export interface ResultsView {
  agents: string[];
  experiments: ExperimentView[];
  best: StepLine[];
  counts: Record<Outcome, number>;
}

export function groupOf(row: Pick<ResultRow, 'mode' | 'model'>): string {
  const model = row.model ? (row.model.split('/').pop() ?? row.model) : 'unknown model';
  return `${row.mode ?? 'unknown mode'} · ${model}`;
}

const delta = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? null : a - b;

/**
 * The dashboard's reading of results.tsv: each row with its outcome and its deltas against the champion of its
 * own mode and base model at the time, and the running best per group as a step line. Pure.
 */
export function buildResultsView(agents: readonly string[], rows: readonly ResultRow[]): ResultsView {
  const champion = new Map<string, ExperimentView>();
  const best = new Map<string, StepLine>();
  const counts: Record<Outcome, number> = { baseline: 0, kept: 0, reverted: 0, vetoed: 0, failed: 0 };
  const experiments = rows.map((row, i) => {
    const group = groupOf(row);
    const previous = champion.get(group) ?? null;
    const outcome = outcomeOf(row.result);
    counts[outcome] += 1;
    const view: ExperimentView = {
      index: i + 1,
      row,
      outcome,
      group,
      championIndex: previous?.index ?? null,
      scoreDelta: outcome === 'baseline' ? null : delta(row.score, previous?.row.score),
      jailbreakDelta: outcome === 'baseline' ? null : delta(row.jailbreak, previous?.row.jailbreak),
      holdoutDelta: outcome === 'baseline' ? null : delta(row.holdout, previous?.row.holdout),
      agentDeltas: Object.fromEntries(
        agents.map((a) => [a, outcome === 'baseline' ? null : delta(row.agents[a], previous?.row.agents[a])]),
      ),
    };
    if ((outcome === 'baseline' || outcome === 'kept') && row.score !== null) {
      champion.set(group, view);
      const line = best.get(group) ?? { group, points: [] };
      line.points.push({ index: view.index, score: row.score });
      best.set(group, line);
    }
    return view;
  });
  return { agents: [...agents], experiments, best: [...best.values()], counts };
}
