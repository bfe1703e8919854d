import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describeChanges } from '../planner/proposal.js';
import { PlannerFatalError, type Planner } from '../planner/types.js';
import type { ExperimentExecution, ExperimentProgress, ExperimentRequest, Mode, RequestedMode, SectionValues, TrainingSummary } from './executor.js';
import { trainingSummarySchema } from './executor.js';
import { PlannerLease } from './lease.js';
import { baselineValues, type SearchSpace } from './hyperparameters.js';
import { TRAIN_PY } from './ledger.js';
import { judge, loadChampion, record, recordWithoutExecution, type Recorder } from './outcome.js';
import { readResults } from './results-file.js';
import type { ResultRow } from './results-format.js';
import { experimentId, fitsBefore, worstCaseSeconds, type ModeBudgets } from './schedule.js';

/** Reads and writes python/train.py's AGENT MODIFIABLE section (src/research/section.ts) in a search space. */
export interface SectionCodec {
  read(source: string, space: SearchSpace): SectionValues;
  write(source: string, values: SectionValues, space: SearchSpace): string;
}

export interface LoopDeps extends Recorder {
  planner: Planner;
  section: SectionCodec;
  /** Each mode's search space (models.<mode>.searchSpace): the table its base model is planned and checked in. */
  spaces: Record<Mode, SearchSpace>;
  redis: Redis;
  redisPrefix: string;
  leaseTtlMs: number;
  /** The mode an `auto` request would get right now, and why (fleet presence). */
  resolveMode: (requested: RequestedMode) => Promise<{ mode: Mode; reason: string }>;
  models: Record<Mode, string>;
  budgets: ModeBudgets;
  pickupDeadlineMs: number;
  evalAllowanceSeconds: number;
  onProgress?: (progress: ExperimentProgress) => void;
}

export interface RunOptions {
  maxExperiments: number;
  deadline: Date;
  mode: RequestedMode;
  signal: AbortSignal;
}

export interface RunSummary {
  rows: ResultRow[];
  stoppedBecause: string;
  /** An experiment left running when the run was interrupted; the next run resumes waiting for it. */
  abandoned: string | null;
}

/**
 * The night: reconcile what a previous run left, record a baseline where the mode has no champion, then plan,
 * commit, execute, judge and record experiments until the experiment budget, the deadline, the planner or a
 * signal ends it. Holds the planner lease throughout.
 */
export async function runLoop(deps: LoopDeps, options: RunOptions): Promise<RunSummary> {
  const lease = await PlannerLease.acquire(deps.redis, `${deps.redisPrefix}:planner:lease`, deps.leaseTtlMs);
  const signal = AbortSignal.any([options.signal, lease.lost]);
  const rows: ResultRow[] = [];
  const done = (stoppedBecause: string, abandoned: string | null = null): RunSummary => ({ rows, stoppedBecause, abandoned });
  try {
    await deps.ledger.ensureBranch();
    const resumed = await reconcile(deps, signal);
    rows.push(...resumed.rows);
    if (resumed.abandoned) return done('interrupted while resuming', resumed.abandoned);
    // What a previous run left is its own: tonight's budget counts only experiments this run starts.
    let experiments = 0;

    while (experiments < options.maxExperiments) {
      if (signal.aborted) return done(`interrupted (${String((signal.reason as Error)?.message ?? signal.reason)})`);
      const { mode, reason } = await deps.resolveMode(options.mode);
      const model = deps.models[mode];

      if (!loadChampion(deps, mode, model)) {
        if (!fitsBefore(deps.now(), options.deadline, deps.evalAllowanceSeconds)) return done('no time left for a baseline before the deadline');
        deps.log.info({ mode, model, reason }, `no champion for ${mode} mode: recording a baseline first`);
        const base = await runBaseline(deps, mode, signal);
        if (base.abandoned) return done('interrupted during the baseline', base.abandoned);
        rows.push(base.row!);
        if (base.row!.result !== 'base') return done(`the baseline of ${mode} mode failed: ${base.row!.reasons.join('; ')}`);
        continue;
      }

      let requested: RequestedMode = options.mode;
      const need = (m: Mode, r: RequestedMode) => worstCaseSeconds('experiment', r, m, deps.budgets, deps.pickupDeadlineMs, deps.evalAllowanceSeconds);
      if (!fitsBefore(deps.now(), options.deadline, need(mode, requested))) {
        if (mode === 'full' && options.mode === 'auto' && fitsBefore(deps.now(), options.deadline, need('proxy', 'proxy')) && loadChampion(deps, 'proxy', deps.models.proxy)) {
          requested = 'proxy';
          deps.log.info('not enough time left for a full-mode experiment: running this one in proxy mode');
        } else {
          return done(`the next experiment (up to ${Math.round(need(mode, requested) / 60)} min) cannot finish before the deadline ${options.deadline.toISOString()}`);
        }
      }
      const step = await planAndRun(deps, requested, requested === 'auto' ? mode : (requested as Mode), signal);
      if (step.kind === 'stop') return done(step.reason);
      if (step.abandoned) return done('interrupted', step.abandoned);
      rows.push(...step.rows);
      experiments += 1;
    }
    return done(`reached ${options.maxExperiments} experiments`);
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/**
 * What a previous run left: experiments still in the executor are waited for and recorded (exactly once); a
 * commit at HEAD that nobody ran or recorded becomes a `crash` row and is reverted.
 */
async function reconcile(deps: LoopDeps, signal: AbortSignal): Promise<{ rows: ResultRow[]; abandoned: string | null }> {
  const rows: ResultRow[] = [];
  const pending = await deps.executor.pending();
  for (const request of pending) {
    deps.log.info({ experimentId: request.experimentId, kind: request.kind }, 'resuming an experiment left in flight');
    const execution = await waitFor(deps, request.experimentId, signal);
    if (!execution) return { rows, abandoned: request.experimentId };
    rows.push(await decide(deps, request, execution));
  }
  const head = await deps.ledger.headExperiment();
  const decided = readResults(deps.resultsPath).rows;
  if (head && !decided.some((r) => r.experimentId === head.experimentId)) {
    const values = safeRead(deps, await deps.ledger.trainPyAt(head.commit));
    rows.push(
      await recordWithoutExecution(deps, {
        experimentId: head.experimentId,
        result: 'crash',
        commit: head.commit,
        hypothesis: typeof values?.EXPERIMENT_HYPOTHESIS === 'string' ? values.EXPERIMENT_HYPOTHESIS : '',
        parameters: values,
        reasons: ['committed but never decided (the planner stopped before submitting or lost the experiment); reverted on restart'],
      }),
    );
  }
  return { rows, abandoned: null };
}

async function runBaseline(deps: LoopDeps, mode: Mode, signal: AbortSignal, championAdapterSha256: string | null = null): Promise<{ row: ResultRow | null; abandoned: string | null }> {
  const request = await baselineRequest(deps, mode, championAdapterSha256);
  await deps.executor.submit(request);
  const execution = await waitFor(deps, request.experimentId, signal);
  if (!execution) return { row: null, abandoned: request.experimentId };
  return { row: await decide(deps, request, execution), abandoned: null };
}

/** A baseline of the section at HEAD: the bare base model, or the given champion adapter. */
export async function baselineRequest(
  deps: Pick<LoopDeps, 'resultsPath' | 'executor' | 'ledger' | 'section' | 'spaces' | 'agents' | 'log' | 'now'>,
  mode: Mode,
  championAdapterSha256: string | null,
): Promise<ExperimentRequest> {
  const rows = readResults(deps.resultsPath).rows;
  const pendingIds = new Set((await deps.executor.pending()).map((p) => p.experimentId));
  const id = experimentId('baseline', deps.now(), (x) => rows.some((r) => r.experimentId === x) || pendingIds.has(x), mode);
  return {
    experimentId: id,
    kind: 'baseline',
    mode,
    commit: await deps.ledger.head(),
    values: startingPoint(deps, await deps.ledger.trainPyAt('HEAD'), mode),
    championAdapterSha256,
  };
}

/**
 * The section at `source`, read in `mode`'s search space. A section outside that space was written for another
 * base model (the seed's train.py holds the Qwen table's baseline): the space's own baseline is the starting
 * point then, and the next experiment's commit writes it whole.
 */
export function startingPoint(deps: Pick<LoopDeps, 'section' | 'spaces' | 'agents' | 'log'>, source: string, mode: Mode): SectionValues {
  const space = deps.spaces[mode];
  try {
    return deps.section.read(source, space);
  } catch (error) {
    deps.log.info(
      { mode, searchSpace: space.name, why: (error as Error).message },
      `the section does not fit ${mode} mode's search space ${space.name}; starting from its baseline (${space.file})`,
    );
    return baselineValues(deps.agents, space.table) as unknown as SectionValues;
  }
}

/**
 * One experiment without a planner (`autoresearch experiment`): the section as it stands in the work tree
 * (edited by hand or not) is committed and run, or with `baseline` the champion is evaluated again.
 */
export async function runSingle(
  deps: LoopDeps,
  options: { mode: RequestedMode; baseline: boolean; skipPrepare: boolean; signal: AbortSignal },
): Promise<RunSummary> {
  const lease = await PlannerLease.acquire(deps.redis, `${deps.redisPrefix}:planner:lease`, deps.leaseTtlMs);
  const signal = AbortSignal.any([options.signal, lease.lost]);
  const rows: ResultRow[] = [];
  try {
    await deps.ledger.ensureClean([TRAIN_PY]);
    const resumed = await reconcile(deps, signal);
    rows.push(...resumed.rows);
    if (resumed.abandoned) return { rows, stoppedBecause: 'interrupted while resuming', abandoned: resumed.abandoned };
    const { mode } = await deps.resolveMode(options.mode);
    const champion = loadChampion(deps, mode, deps.models[mode]);
    if (options.baseline || !champion) {
      const base = await runBaseline(deps, mode, signal, options.baseline ? (champion?.row.adapterSha256 ?? null) : null);
      if (base.abandoned) return { rows, stoppedBecause: 'interrupted', abandoned: base.abandoned };
      rows.push(base.row!);
      if (options.baseline || base.row!.result !== 'base') return { rows, stoppedBecause: 'baseline recorded', abandoned: null };
    }
    const history = readResults(deps.resultsPath).rows;
    const id = experimentId('experiment', deps.now(), (x) => history.some((r) => r.experimentId === x));
    const source = deps.ledger.readTrainPy();
    const values = deps.section.read(source, deps.spaces[mode]);
    const hypothesis = typeof values.EXPERIMENT_HYPOTHESIS === 'string' ? values.EXPERIMENT_HYPOTHESIS : '';
    const before = startingPoint(deps, await deps.ledger.trainPyAt('HEAD'), mode);
    const changed = Object.fromEntries(
      Object.entries(values).filter(([k, v]) => k !== 'EXPERIMENT_HYPOTHESIS' && JSON.stringify(v) !== JSON.stringify(before[k])),
    ) as SectionValues;
    const commit = await deps.ledger.commitExperiment(id, hypothesis, `Changes: ${describeChanges(before, changed) || 'none (the section as committed)'}\nPlanner: none (autoresearch experiment)`, source);
    const request: ExperimentRequest = { experimentId: id, kind: 'experiment', mode: options.mode, commit: commit.commit, values, skipPrepare: options.skipPrepare };
    await deps.executor.submit(request);
    const execution = await waitFor(deps, id, signal);
    if (!execution) return { rows, stoppedBecause: 'interrupted', abandoned: id };
    if (!loadChampion(deps, execution.mode, execution.model) && execution.eval) {
      const base = await runBaseline(deps, execution.mode, signal);
      if (base.abandoned) return { rows, stoppedBecause: 'interrupted', abandoned: base.abandoned };
      rows.push(base.row!);
    }
    rows.push(await decide(deps, request, execution, changed));
    return { rows, stoppedBecause: 'experiment decided', abandoned: null };
  } finally {
    await lease.release().catch(() => undefined);
  }
}

type Step = { kind: 'stop'; reason: string } | { kind: 'ran'; rows: ResultRow[]; abandoned: string | null };

/** What planning one experiment produced: a committed proposal, an `invalid` row, or a reason to stop. */
export type PlanStep =
  | { kind: 'committed'; request: ExperimentRequest; changes: SectionValues }
  | { kind: 'invalid'; row: ResultRow }
  | { kind: 'stop'; reason: string }
  | { kind: 'interrupted' };

export type PlanDeps = Pick<LoopDeps, 'planner' | 'section' | 'spaces' | 'agents' | 'ledger' | 'log' | 'models' | 'resultsPath' | 'memoryEventsDir' | 'artifacts' | 'now'>;

/**
 * Asks the planner for experiment `id`, then either commits the proposed section (and nothing else) to git,
 * or records the rejected proposal as an `invalid` row with no commit.
 */
export async function planExperiment(deps: PlanDeps, id: string, requested: RequestedMode, expectedMode: Mode, signal: AbortSignal): Promise<PlanStep> {
  const history = readResults(deps.resultsPath).rows;
  const source = deps.ledger.readTrainPy();
  const space = deps.spaces[expectedMode];
  const current = startingPoint(deps, source, expectedMode);
  const champion = loadChampion(deps, expectedMode, deps.models[expectedMode]);
  let outcome;
  try {
    outcome = await deps.planner.propose(
      {
        experimentId: id,
        mode: requested,
        current,
        history,
        champion: champion ? { mode: expectedMode, row: champion.row, summary: champion.summary } : null,
        lastTraining: lastTraining(deps, history),
        agents: deps.agents,
        searchSpace: space,
        specs: space.table.parameters,
      },
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
    });
    return { kind: 'invalid', row };
  }
  const { proposal } = outcome;
  const values: SectionValues = { ...proposal.values, EXPERIMENT_HYPOTHESIS: proposal.hypothesis };
  const changes = describeChanges(current, proposal.changes);
  const commit = await deps.ledger.commitExperiment(
    id,
    proposal.hypothesis,
    `Changes: ${changes}\nPlanner: ${deps.planner.name}${outcome.usage ? `, $${outcome.usage.costUsd.toFixed(4)}` : ''}`,
    deps.section.write(source, values, space),
  );
  return { kind: 'committed', request: { experimentId: id, kind: 'experiment', mode: requested, commit: commit.commit, values }, changes: proposal.changes };
}

async function planAndRun(deps: LoopDeps, requested: RequestedMode, expectedMode: Mode, signal: AbortSignal): Promise<Step> {
  const history = readResults(deps.resultsPath).rows;
  const pendingIds = new Set((await deps.executor.pending()).map((p) => p.experimentId));
  const id = experimentId('experiment', deps.now(), (x) => history.some((r) => r.experimentId === x) || pendingIds.has(x));
  const planned = await planExperiment(deps, id, requested, expectedMode, signal);
  if (planned.kind === 'stop') return planned;
  if (planned.kind === 'interrupted') return { kind: 'ran', rows: [], abandoned: null };
  if (planned.kind === 'invalid') return { kind: 'ran', rows: [planned.row], abandoned: null };
  const { request } = planned;
  await deps.executor.submit(request);
  deps.log.info({ experimentId: id, mode: requested, commit: request.commit }, 'experiment submitted');
  const execution = await waitFor(deps, id, signal);
  if (!execution) return { kind: 'ran', rows: [], abandoned: id };
  const rows: ResultRow[] = [];
  if (!loadChampion(deps, execution.mode, execution.model) && execution.eval) {
    // The fleet ran it in a mode without a champion (the laptop came home, or a full job fell back to proxy).
    const base = await runBaseline(deps, execution.mode, signal);
    if (base.abandoned) return { kind: 'ran', rows, abandoned: base.abandoned };
    rows.push(base.row!);
  }
  rows.push(await decide(deps, request, execution, planned.changes));
  return { kind: 'ran', rows, abandoned: null };
}

async function decide(deps: LoopDeps, request: ExperimentRequest, execution: ExperimentExecution, changes: SectionValues | null = null): Promise<ResultRow> {
  const champion = request.kind === 'experiment' ? loadChampion(deps, execution.mode, execution.model) : null;
  const hypothesis = typeof request.values.EXPERIMENT_HYPOTHESIS === 'string' ? request.values.EXPERIMENT_HYPOTHESIS : '';
  if (request.kind === 'experiment' && !champion && execution.eval) {
    return recordWithoutExecution(deps, {
      experimentId: request.experimentId,
      result: 'crash',
      commit: request.commit,
      hypothesis,
      parameters: request.values,
      reasons: [`no champion for ${execution.mode}/${execution.model} to judge against (its baseline failed)`],
    }).then(async (row) => {
      await deps.executor.settle(request.experimentId);
      return row;
    });
  }
  const verdict = judge(request, execution, champion, deps.thresholds);
  return record(deps, request, execution, verdict, { hypothesis, changes });
}

/** Null when the wait was interrupted: the experiment stays in flight for the next run. */
async function waitFor(deps: LoopDeps, id: string, signal: AbortSignal): Promise<ExperimentExecution | null> {
  try {
    return await deps.executor.wait(id, { signal, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}) });
  } catch (error) {
    if (signal.aborted) {
      deps.log.warn({ experimentId: id }, 'stopped waiting; the experiment stays in flight and the next `autoresearch run` resumes it');
      return null;
    }
    throw error;
  }
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

/** The section of a commit whose mode is unknown: read in the first search space it fits. */
function safeRead(deps: LoopDeps, source: string): SectionValues | null {
  let problem = '';
  for (const space of new Set(Object.values(deps.spaces))) {
    try {
      return deps.section.read(source, space);
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  deps.log.warn({ err: problem, file: TRAIN_PY }, 'could not read the section of an undecided commit');
  return null;
}
