import { describeChanges } from '../planner/proposal.js';
import { runBaseline } from './baseline.js';
import { safeRead, sectionAt } from './commit-section.js';
import { runConcurrent } from './concurrent-loop.js';
import { crashUndecided } from './crash-recovery.js';
import { decide, waitFor } from './decide.js';
import type { ExperimentRequest, Mode, RequestedMode, SectionValues } from './executor.js';
import { hypothesisTextSchema } from './hyperparameters.js';
import { LeaseLostError } from './lease.js';
import { TRAIN_PY } from './ledger.js';
import type { LoopDeps } from './loop-deps.js';
import { loadChampion } from './outcome.js';
import { planExperiment } from './plan-experiment.js';
import { readResults } from './results-file.js';
import type { ResultRow } from './results-format.js';
import { abortReason, begin, type RunOptions, type RunSummary } from './run-lifecycle.js';
import { experimentId, fitsBefore, worstCaseSeconds } from './schedule.js';
import { SectionError } from './section.js';

/**
 * The night: reconcile what a previous run left, record a baseline where the mode has no champion, then plan,
 * commit, execute, judge and record experiments until the experiment budget, the deadline, the planner or a
 * signal ends it. Holds the planner lease throughout.
 */
export async function runLoop(plain: LoopDeps, options: RunOptions): Promise<RunSummary> {
  if (plain.concurrency && plain.concurrency.maxInFlight !== 1) return runConcurrent(plain, plain.concurrency, options);
  const { deps, lease, signal } = await begin(plain, options.signal);
  const rows: ResultRow[] = [];
  const done = (stoppedBecause: string, abandoned: string | null = null): RunSummary => ({ rows, stoppedBecause, abandoned, leaseLost: lease.lost.aborted });
  try {
    await deps.ledger.ensureBranch();
    const resumed = await reconcile(deps, signal);
    rows.push(...resumed.rows);
    if (resumed.abandoned) return done(`interrupted while resuming (${abortReason(signal)})`, resumed.abandoned);
    // What a previous run left is its own: tonight's budget counts only experiments this run starts.
    let experiments = 0;

    while (experiments < options.maxExperiments) {
      if (signal.aborted) return done(`interrupted (${abortReason(signal)})`);
      const { mode, reason } = await deps.resolveMode(options.mode);
      const model = deps.models[mode];

      if (!loadChampion(deps, mode, model)) {
        if (!fitsBefore(deps.now(), options.deadline, deps.evalAllowanceSeconds)) return done('no time left for a baseline before the deadline');
        deps.log.info({ mode, model, reason }, `no champion for ${mode} mode: recording a baseline first`);
        const base = await runBaseline(deps, mode, signal);
        if (base.abandoned) return done(`interrupted during the baseline (${abortReason(signal)})`, base.abandoned);
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
      if (step.abandoned) return done(`interrupted (${abortReason(signal)})`, step.abandoned);
      rows.push(...step.rows);
      experiments += 1;
    }
    return done(`reached ${options.maxExperiments} experiments`);
  } catch (error) {
    // The fence refused a write: nothing more may be written by this planner, and the summary says why.
    if (error instanceof LeaseLostError) return done(error.message);
    throw error;
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
  rows.push(...(await crashUndecided(deps, deps.ledger)));
  return { rows, abandoned: null };
}

/**
 * One experiment without a planner (`autoresearch experiment`): the section committed at HEAD (commit a hand
 * edit first: a dirty tree is refused) is committed again as an experiment and run, or with `baseline` the
 * champion is evaluated again.
 */
export async function runSingle(
  plain: LoopDeps,
  options: { mode: RequestedMode; baseline: boolean; skipPrepare: boolean; signal: AbortSignal },
): Promise<RunSummary> {
  const { deps, lease, signal } = await begin(plain, options.signal);
  const rows: ResultRow[] = [];
  const done = (stoppedBecause: string, abandoned: string | null = null): RunSummary => ({ rows, stoppedBecause, abandoned, leaseLost: lease.lost.aborted });
  try {
    const resumed = await reconcile(deps, signal);
    rows.push(...resumed.rows);
    if (resumed.abandoned) return done(`interrupted while resuming (${abortReason(signal)})`, resumed.abandoned);
    const { mode } = await deps.resolveMode(options.mode);
    const champion = loadChampion(deps, mode, deps.models[mode]);
    if (options.baseline || !champion) {
      const base = await runBaseline(deps, mode, signal, options.baseline ? (champion?.row.adapterSha256 ?? null) : null);
      if (base.abandoned) return done(`interrupted (${abortReason(signal)})`, base.abandoned);
      rows.push(base.row!);
      if (options.baseline || base.row!.result !== 'base') return done('baseline recorded');
    }
    const history = readResults(deps.resultsPath).rows;
    const id = experimentId('experiment', deps.now(), (x) => history.some((r) => r.experimentId === x));
    const head = await deps.ledger.head();
    const source = await deps.ledger.trainPyAt(head);
    const values = sectionAt(deps, source, head, deps.spaces[mode]);
    const hypothesis = typeof values.EXPERIMENT_HYPOTHESIS === 'string' ? values.EXPERIMENT_HYPOTHESIS : '';
    const text = hypothesisTextSchema.safeParse(hypothesis);
    if (!text.success) throw new SectionError(`${deps.ledger.repo}/${TRAIN_PY} at ${head.slice(0, 12)}: EXPERIMENT_HYPOTHESIS: ${text.error.issues.map((i) => i.message).join('; ')}`);
    // What this tries, relative to the champion it will be judged against (the hand edit committed since).
    const championCommit = loadChampion(deps, mode, deps.models[mode])?.row.commit ?? null;
    const before = championCommit ? safeRead(deps, await deps.ledger.trainPyAt(championCommit).catch(() => '')) : null;
    const changed = Object.fromEntries(
      Object.entries(values).filter(([k, v]) => k !== 'EXPERIMENT_HYPOTHESIS' && before !== null && JSON.stringify(v) !== JSON.stringify(before[k])),
    ) as SectionValues;
    await deps.fence?.();
    const summary = `Changes: ${(before && describeChanges(before, changed)) || `none against the champion (the section as committed at ${head.slice(0, 12)})`}\nPlanner: none (autoresearch experiment)`;
    const commit = await deps.ledger.commitExperiment(id, hypothesis, summary, source);
    const request: ExperimentRequest = { experimentId: id, kind: 'experiment', mode: options.mode, commit: commit.commit, values, skipPrepare: options.skipPrepare, proposer: 'hand' };
    await deps.executor.submit(request);
    const execution = await waitFor(deps, id, signal);
    if (!execution) return done(`interrupted (${abortReason(signal)})`, id);
    if (!loadChampion(deps, execution.mode, execution.model) && execution.eval) {
      const base = await runBaseline(deps, execution.mode, signal);
      if (base.abandoned) return done(`interrupted (${abortReason(signal)})`, base.abandoned);
      rows.push(base.row!);
    }
    rows.push(await decide(deps, request, execution, changed));
    return done('experiment decided');
  } catch (error) {
    if (error instanceof LeaseLostError) return done(error.message);
    throw error;
  } finally {
    await lease.release().catch(() => undefined);
  }
}

type Step = { kind: 'stop'; reason: string } | { kind: 'ran'; rows: ResultRow[]; abandoned: string | null };

async function planAndRun(deps: LoopDeps, requested: RequestedMode, expectedMode: Mode, signal: AbortSignal): Promise<Step> {
  const history = readResults(deps.resultsPath).rows;
  const pending = await deps.executor.pending();
  const pendingIds = new Set(pending.map((p) => p.experimentId));
  const id = experimentId('experiment', deps.now(), (x) => history.some((r) => r.experimentId === x) || pendingIds.has(x));
  const inFlight = pending.filter((p) => p.kind === 'experiment').map((p) => ({ experimentId: p.experimentId, mode: p.mode, values: p.values }));
  const planned = await planExperiment(deps, id, requested, expectedMode, signal, { inFlight });
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
