import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describeChanges } from '../planner/proposal.js';
import { devOnlyContext } from '../planner/dev-only.js';
import { PlannerFatalError, type InFlightExperiment, type Planner } from '../planner/types.js';
import type { ExperimentExecution, ExperimentProgress, ExperimentRequest, Mode, RequestedMode, SectionValues, TrainingSummary } from './executor.js';
import { trainingSummarySchema } from './executor.js';
import { baselineValues, hypothesisTextSchema, searchSpace, searchSpaceNames, type SearchSpace } from './hyperparameters.js';
import { LEASE_LOST_EXIT_CODE, LeaseLostError, PlannerLease } from './lease.js';
import { TRAIN_PY, type ChampionLine, type ExperimentCommit } from './ledger.js';
import { judge, loadChampion, record, recordWithoutExecution, type Recorder } from './outcome.js';
import { checkResultsColumns, readResults } from './results-file.js';
import { SectionError } from './section.js';
import type { ResultRow } from './results-format.js';
import { runConcurrent, type Concurrency } from './concurrent-loop.js';
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
  /** run.maxInFlight and who is awake; absent or a maxInFlight of 1: one experiment at a time on run.branch. */
  concurrency?: Concurrency;
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
  /** The run stopped because this planner lost its lease (`run` exits with LEASE_LOST_EXIT_CODE). */
  leaseLost: boolean;
}

/**
 * The exit code of `run` and `experiment` (docs/operations.md lists them all): 0 when the run ended on its
 * own terms, LEASE_LOST_EXIT_CODE (75) when the planner lease was lost, 130 when a signal interrupted it.
 */
export function runExitCode(summary: Pick<RunSummary, 'abandoned' | 'leaseLost'>): number {
  if (summary.leaseLost) return LEASE_LOST_EXIT_CODE;
  return summary.abandoned ? 130 : 0;
}

/** Why a signal fired, for the summary and the log: "interrupted by SIGINT", "the planner lease ... was lost". */
export function abortReason(signal: AbortSignal): string {
  return String((signal.reason as Error | undefined)?.message ?? signal.reason);
}

/**
 * The lease, the fence every write checks, and the up-front checks both `run` and `experiment` make before
 * anything is planned or committed: results.tsv has this council's columns, and no tracked file (train.py
 * included) has uncommitted changes, which a commit would fold in or a revert would wipe.
 */
export async function begin(deps: LoopDeps, signal: AbortSignal): Promise<{ deps: LoopDeps; lease: PlannerLease; signal: AbortSignal }> {
  checkResultsColumns(deps.resultsPath, deps.agents);
  const lease = await PlannerLease.acquire(deps.redis, `${deps.redisPrefix}:planner:lease`, deps.leaseTtlMs, deps.log);
  try {
    await deps.ledger.ensureClean();
  } catch (error) {
    await lease.release().catch(() => undefined);
    throw error;
  }
  return { deps: { ...deps, fence: () => lease.assertHeld() }, lease, signal: AbortSignal.any([signal, lease.lost]) };
}

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
 * A commit at `line`'s tip that nobody ran or recorded becomes a `crash` row and is reverted; on the checked-out
 * branch a commit a planner of an earlier version left without its ref gets the ref first.
 */
export async function crashUndecided(deps: LoopDeps, line: ChampionLine): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  await deps.fence?.();
  const repaired = line === deps.ledger ? await deps.ledger.repairHeadRef() : null;
  if (repaired) {
    deps.log.warn(
      { experimentId: repaired.experimentId, commit: repaired.commit, ref: `refs/autoresearch/experiments/${repaired.experimentId}` },
      'HEAD is an experiment commit without its ref (a planner died between commit and update-ref): created the ref, so the commit stays reachable after the revert',
    );
  }
  const head = await undecidedHead(deps, line, new Set((await deps.executor.pending()).map((p) => p.experimentId)));
  if (head) rows.push(await crashCommitted(deps, head, line.name, 'committed but never decided (the planner stopped before submitting or lost the experiment); reverted on restart'));
  return rows;
}

/** A `crash` row for an experiment commit nobody will run or decide (a revert is a no-op unless a line ends at it). */
export async function crashCommitted(deps: LoopDeps, head: ExperimentCommit, branch: string, reason: string): Promise<ResultRow> {
  const values = safeRead(deps, await deps.ledger.trainPyAt(head.commit));
  const row = await recordWithoutExecution(deps, {
    experimentId: head.experimentId,
    result: 'crash',
    commit: head.commit,
    hypothesis: typeof values?.EXPERIMENT_HYPOTHESIS === 'string' ? values.EXPERIMENT_HYPOTHESIS : '',
    parameters: values,
    reasons: [reason],
  });
  deps.log.warn({ experimentId: head.experimentId, commit: head.commit, parent: head.parent, branch, results: deps.resultsPath }, `recorded a crash row for ${head.experimentId}: ${reason}`);
  return row;
}

/**
 * The line's tip when it is an experiment commit with no results.tsv row: undecided (in flight, or committed and
 * never decided). With `except`, an experiment still in flight does not count.
 */
async function undecidedHead(deps: Pick<LoopDeps, 'resultsPath'>, line: ChampionLine, except: ReadonlySet<string> = new Set()): Promise<ExperimentCommit | null> {
  const head = await line.headExperiment();
  if (!head || except.has(head.experimentId) || readResults(deps.resultsPath).rows.some((r) => r.experimentId === head.experimentId)) return null;
  return head;
}

async function runBaseline(deps: LoopDeps, mode: Mode, signal: AbortSignal, championAdapterSha256: string | null = null): Promise<{ row: ResultRow | null; abandoned: string | null }> {
  const request = await baselineRequest(deps, mode, championAdapterSha256);
  await deps.fence?.();
  await deps.executor.submit(request);
  const execution = await waitFor(deps, request.experimentId, signal);
  if (!execution) return { row: null, abandoned: request.experimentId };
  return { row: await decide(deps, request, execution), abandoned: null };
}

/**
 * A baseline of the champion's section: the bare base model, or the given champion adapter. That section is
 * HEAD's, unless HEAD is an experiment still undecided (in flight, or left by a crash): then it is the
 * experiment's parent, so the baseline never carries a trial's parameters and hypothesis.
 */
export async function baselineRequest(
  deps: Pick<LoopDeps, 'resultsPath' | 'executor' | 'ledger' | 'section' | 'spaces' | 'agents' | 'log' | 'now'>,
  mode: Mode,
  championAdapterSha256: string | null,
  line: ChampionLine = deps.ledger,
): Promise<ExperimentRequest> {
  const rows = readResults(deps.resultsPath).rows;
  const pendingIds = new Set((await deps.executor.pending()).map((p) => p.experimentId));
  const id = experimentId('baseline', deps.now(), (x) => rows.some((r) => r.experimentId === x) || pendingIds.has(x), mode);
  const commit = (await undecidedHead(deps, line))?.parent ?? (await line.head());
  return {
    experimentId: id,
    kind: 'baseline',
    mode,
    commit,
    values: startingPoint(deps, await deps.ledger.trainPyAt(commit), commit, mode),
    championAdapterSha256,
    proposer: 'baseline',
  };
}

/** The section of `commit`'s train.py; a SectionError names the file, the commit and the bad value. */
function sectionAt(deps: Pick<LoopDeps, 'section' | 'ledger'>, source: string, commit: string, space: SearchSpace): SectionValues {
  try {
    return deps.section.read(source, space);
  } catch (error) {
    if (error instanceof SectionError) throw new SectionError(`${deps.ledger.repo}/${TRAIN_PY} at ${commit.slice(0, 12)}: ${error.message}`);
    throw error;
  }
}

/**
/**
 * The section of `commit`'s train.py, read in `mode`'s search space. A section that fits another search space
 * was written for another base model (the seed's train.py holds the Qwen table's baseline): the space's own
 * baseline is the starting point then, and the next experiment's commit writes it whole. A section that fits
 * no table is a bad value, reported with the file, the commit and the value.
 */
export function startingPoint(deps: Pick<LoopDeps, 'section' | 'spaces' | 'agents' | 'log' | 'ledger'>, source: string, commit: string, mode: Mode): SectionValues {
  const space = deps.spaces[mode];
  try {
    return sectionAt(deps, source, commit, space);
  } catch (error) {
    if (!(error instanceof SectionError)) throw error;
    const fitsAnother = searchSpaceNames()
      .filter((name) => name !== space.name)
      .some((name) => {
        try {
          deps.section.read(source, searchSpace(name));
          return true;
        } catch {
          return false;
        }
      });
    if (!fitsAnother) throw error;
    deps.log.info(
      { mode, searchSpace: space.name, why: error.message },
      `the section does not fit ${mode} mode's search space ${space.name}; starting from its baseline (${space.file})`,
    );
    return baselineValues(deps.agents, space.table) as unknown as SectionValues;
  }
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

/** `line`: the mode whose champion line the experiment was committed on (several in flight); a keep moves that line to it. */
export async function decide(deps: LoopDeps, request: ExperimentRequest, execution: ExperimentExecution, changes: SectionValues | null = null, line?: Mode): Promise<ResultRow> {
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
  const verdict = judge(request, execution, champion, deps);
  return record(deps, request, execution, verdict, { hypothesis, changes, ...(line ? { line } : {}) });
}

/** Null when the wait was interrupted: the experiment stays in flight for the next run. */
export async function waitFor(deps: LoopDeps, id: string, signal: AbortSignal, onTrained?: () => void): Promise<ExperimentExecution | null> {
  try {
    return await deps.executor.wait(id, { signal, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}), ...(onTrained ? { onTrained } : {}) });
  } catch (error) {
    if (signal.aborted) {
      deps.log.warn({ experimentId: id, why: abortReason(signal) }, 'stopped waiting; the experiment stays in flight and the next `autoresearch run` resumes it');
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
