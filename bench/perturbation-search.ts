import { axes, configKey, fromUnit, readAxis, showValue, toUnit, writeAxis, type Axis } from '../src/planner/search-space.js';
import type { PlanOutcome, PlannerContext } from '../src/planner/types.js';
import type { SectionValues } from '../src/research/executor.js';
import type { ResultKind, ResultRow } from '../src/research/results-format.js';
import { rng } from '../src/stats/seeded-random.js';

/**
 * The round-1 offline planner, kept only as the planner benchmark's reference (issue 13 measured it losing to
 * random search; the Optuna sampler replaced it): an adaptive one-parameter-at-a-time perturbation search
 * around the champion. It replays results.tsv to learn two things:
 *
 * - a global step size (a fraction of each parameter's range, log-scaled for the learning rate) that grows by
 *   1.5x after a keep and shrinks after a revert (0.85x) or a veto, crash or timeout (0.7x), bounded to
 *   [0.03, 0.5] — the 1/5th-success idea of evolution strategies;
 * - per parameter and direction, what happened last time: a kept move is pushed further the same way, a
 *   failed move is tried the other way, a parameter that keeps failing is chosen less often, one never tried
 *   more often; an agent's sampling weight is raised when that agent is the champion's weakest.
 *
 * It moves one parameter per experiment (a clean attribution, and what program.md asks for), never proposes a
 * configuration already in results.tsv or in flight, and is deterministic: the same seed and history give the same proposal.
 * Pure: no I/O.
 */
export const STEP_INITIAL = 0.2;
export const STEP_MIN = 0.03;
export const STEP_MAX = 0.5;

const STEP_FACTOR: Partial<Record<ResultKind, number>> = {
  keep: 1.5,
  revert: 0.85,
  'veto-jailbreak': 0.7,
  'veto-regression': 0.7,
  crash: 0.7,
  timeout: 0.7,
};

interface AxisMemory {
  tries: number;
  keeps: number;
  failures: number;
  /** Outcome of the last move of this axis in each direction. */
  last: { up?: ResultKind; down?: ResultKind };
}

export interface SearchState {
  step: number;
  memory: Map<string, AxisMemory>;
  tried: Set<string>;
  keeps: number;
  discards: number;
}

const EXPERIMENT_RESULTS: ReadonlySet<ResultKind> = new Set(['keep', 'revert', 'veto-jailbreak', 'veto-regression', 'crash', 'timeout']);

/** Replays the history: which configurations were tried, and how each axis fared against the champion of its day. */
export function replay(history: readonly ResultRow[], allAxes: readonly Axis[], current: SectionValues): SearchState {
  const state: SearchState = { step: STEP_INITIAL, memory: new Map(), tried: new Set([configKey(current)]), keeps: 0, discards: 0 };
  let champion: SectionValues | null = null;
  for (const row of history) {
    if (row.parameters) state.tried.add(configKey(row.parameters));
    const params = row.parameters as SectionValues | null;
    if (row.result === 'base') {
      if (params) champion = params;
      continue;
    }
    if (!EXPERIMENT_RESULTS.has(row.result)) continue;
    state.step = Math.min(STEP_MAX, Math.max(STEP_MIN, state.step * (STEP_FACTOR[row.result] ?? 1)));
    if (row.result === 'keep') state.keeps += 1;
    else state.discards += 1;
    if (champion && params) {
      for (const axis of allAxes) {
        const before = toUnit(axis.spec, readAxis(champion, axis));
        const after = toUnit(axis.spec, readAxis(params, axis));
        if (after === before) continue;
        const m = state.memory.get(axis.key) ?? { tries: 0, keeps: 0, failures: 0, last: {} };
        m.tries += 1;
        if (row.result === 'keep') m.keeps += 1;
        else if (row.result !== 'revert') m.failures += 1;
        m.last[after > before ? 'up' : 'down'] = row.result;
        state.memory.set(axis.key, m);
      }
    }
    if (row.result === 'keep' && params) champion = params;
  }
  return state;
}

interface Move {
  axis: Axis;
  from: number;
  to: number;
  why: string;
}

export function proposeOffline(context: PlannerContext, seed: number): PlanOutcome {
  const allAxes = axes(context.specs, context.agents);
  const state = replay(context.history, allAxes, context.current);
  // A configuration in flight is as good as tried: proposing it again would train it twice.
  const inFlight = context.inFlight ?? [];
  for (const running of inFlight) state.tried.add(configKey(running.values));
  const random = rng(seed * 1_000_003 + context.history.length + 7_919 * inFlight.length);
  const weakest = weakestAgent(context);

  const weightOf = (axis: Axis) => {
    const m = state.memory.get(axis.key);
    let w = m ? (1 + m.keeps) / (1 + m.failures + 0.5 * (m.tries - m.keeps - m.failures)) : 2;
    if (axis.agent !== null) w *= axis.agent === weakest ? 1.5 : 0.1;
    return w;
  };

  for (let attempt = 0; attempt < 256; attempt += 1) {
    const step = Math.min(STEP_MAX, state.step * 1.25 ** Math.floor(attempt / 32));
    const axis = pick(allAxes, allAxes.map(weightOf), random);
    const move = moveAlong(axis, context.current, step, state.memory.get(axis.key), weakest, random);
    if (!move) continue;
    const values = writeAxis(context.current, axis, move.to);
    if (state.tried.has(configKey(values))) continue;
    const changes: SectionValues =
      axis.agent === null ? { [axis.spec.name]: move.to } : { [axis.spec.name]: values[axis.spec.name] as Record<string, number> };
    return {
      kind: 'proposal',
      proposal: { hypothesis: hypothesisFor(move, step, state), changes, values, proposer: 'sampler' },
      usage: null,
    };
  }
  return {
    kind: 'stop',
    reason: `the offline search found no untried configuration near the champion (step ${state.step.toFixed(2)}, ${state.tried.size} configurations tried)`,
    usage: null,
  };
}

function moveAlong(
  axis: Axis,
  current: SectionValues,
  step: number,
  memory: AxisMemory | undefined,
  weakest: string | null,
  random: () => number,
): Move | null {
  const from = readAxis(current, axis);
  const u = toUnit(axis.spec, from);
  let dir: 1 | -1;
  let why: string;
  if (memory?.last.up === 'keep' || memory?.last.down === 'keep') {
    dir = memory.last.up === 'keep' ? 1 : -1;
    why = `the last ${dir > 0 ? 'increase' : 'decrease'} of ${axis.key} was kept, so this pushes further the same way`;
  } else if (memory?.last.up && !memory.last.down) {
    dir = -1;
    why = `increasing ${axis.key} did not pay off (${memory.last.up}), so this tries the other direction`;
  } else if (memory?.last.down && !memory.last.up) {
    dir = 1;
    why = `decreasing ${axis.key} did not pay off (${memory.last.down}), so this tries the other direction`;
  } else if (axis.agent !== null && axis.agent === weakest) {
    dir = 1;
    why = `${axis.agent} is the champion's weakest agent`;
  } else {
    dir = random() < 0.5 ? 1 : -1;
    why = memory ? `both directions of ${axis.key} were tried before; this samples again` : `${axis.key} has not been explored yet`;
  }
  // Jitter the step a little so repeated moves of one axis do not land on a lattice.
  const size = step * (0.75 + 0.5 * random());
  for (const d of [dir, -dir as 1 | -1]) {
    const to = fromUnit(axis.spec, u + d * size);
    if (to !== from) return { axis, from, to, why: d === dir ? why : `${why}; that side is at its limit, so this goes the other way` };
  }
  return null;
}

function pick<T>(items: readonly T[], weights: readonly number[], random: () => number): T {
  const total = weights.reduce((s, w) => s + w, 0);
  let r = random() * total;
  for (let i = 0; i < items.length; i += 1) {
    r -= weights[i]!;
    if (r <= 0) return items[i]!;
  }
  return items[items.length - 1]!;
}

function weakestAgent(context: PlannerContext): string | null {
  const scores = context.champion?.summary.perAgent;
  if (!scores) return null;
  let best: string | null = null;
  for (const agent of context.agents) {
    const s = scores[agent];
    if (s !== undefined && (best === null || s < scores[best]!)) best = agent;
  }
  return best;
}

const EFFECT: Record<string, [up: string, down: string]> = {
  NUM_LAYERS: ['adapting more transformer blocks gives the six personas more capacity', "adapting fewer blocks leaves more of the base model's general behaviour intact"],
  LORA_RANK: ['a higher rank gives the adapter room for six distinct personas', 'a lower rank regularises the adapter against overfitting a small dataset'],
  LORA_ALPHA: ["a larger alpha (scale = alpha / rank) strengthens the adapter's effect", 'a smaller scale keeps the adapter closer to the base model'],
  DROPOUT: ['more dropout reduces overfitting to a few dozen conversations per agent', 'less dropout lets the adapter fit the personas faster'],
  LEARNING_RATE: ['a higher learning rate lets the budgeted iterations move the adapter further', 'a lower learning rate makes training steadier and protects jailbreak resistance'],
  ITERS: ['more iterations train further within the time budget', 'fewer iterations stop before the adapter overfits'],
  GRAD_ACCUM: ['larger effective batches give smoother updates', 'smaller effective batches give more updates in the same iterations'],
  DATA_MIX_RATIO: ['more general conversations preserve general ability and isolation', 'more council data strengthens identity, tools and domain answers'],
};

function hypothesisFor(move: Move, step: number, state: SearchState): string {
  const up = move.to > move.from;
  const name = move.axis.key;
  const effect = move.axis.agent
    ? up
      ? `sampling ${move.axis.agent} more often raises its score`
      : `sampling ${move.axis.agent} less often frees capacity for the other agents`
    : (EFFECT[move.axis.spec.name]?.[up ? 0 : 1] ?? `${up ? 'raising' : 'lowering'} ${name} improves the council`);
  return (
    `${name} ${showValue(move.from)} -> ${showValue(move.to)}: tests whether ${effect}, ` +
    `raising the overall score by at least the promotion margin without any agent regressing past the cap. ` +
    `Chosen because ${move.why}. ` +
    `(offline search: step ${step.toFixed(2)} of the range after ${state.keeps} keeps and ${state.discards} discards)`
  );
}
