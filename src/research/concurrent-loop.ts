import type { InFlightExperiment } from '../planner/types.js';
import type { ExperimentExecution, ExperimentRequest, Mode, SectionValues } from './executor.js';
import { baselineRequest } from './baseline.js';
import { crashCommitted, crashUndecided } from './crash-recovery.js';
import { decide, waitFor } from './decide.js';
import { modesWithRoom, trainingSlots, type TrainingSlots } from './in-flight.js';
import type { ChampionLine } from './ledger.js';
import type { Concurrency, LoopDeps } from './loop-deps.js';
import { planExperiment } from './plan-experiment.js';
import { LeaseLostError } from './lease.js';
import { loadChampion } from './outcome.js';
import { readResults } from './results-file.js';
import type { ResultRow } from './results-format.js';
import { abortReason, begin, type RunOptions, type RunSummary } from './run-lifecycle.js';
import { experimentId, fitsBefore, worstCaseSeconds } from './schedule.js';

interface Flight {
  request: ExperimentRequest;
  /** The slot it holds: the mode it was submitted in (`auto`, from a serial run left behind, holds `full`). */
  mode: Mode;
  changes: SectionValues | null;
  /** Submission order: a mode's experiments are decided in it. */
  seq: number;
  /** Its training has not ended (queued or running): it holds its mode's training slot. */
  training: boolean;
  landed: Promise<void>;
  /** Set once the wait returned: the execution, or null when the wait was interrupted. */
  execution?: ExperimentExecution | null;
}

/**
 * The night with several experiments in flight: each mode trains on its own machine and keeps its own champion
 * line (`<run.branch>-full`, `<run.branch>-proxy`, created at run.branch's tip the first time), so a keep or a
 * revert in one mode moves only that mode's branch, never the other's experiment in flight nor the work tree.
 * Whenever a mode has room (modesWithRoom) the planner proposes for it, seeing what is in flight: a slot of its
 * own, or the place queued behind its experiment in training, so its machine goes from one training to the next
 * without waiting for the planner. The first experiment of a mode is committed on its line; one queued behind
 * another is committed beside it, on the mode's champion, and its line moves to it if it is kept. A mode's
 * experiments are decided in the order they were submitted, each against the champion of its mode at that moment,
 * and each gets exactly one row (outcome.ts). Experiments a previous run left in flight are resumed.
 */
export async function runConcurrent(plain: LoopDeps, concurrency: Concurrency, options: RunOptions): Promise<RunSummary> {
  const { deps, lease, signal } = await begin(plain, options.signal);
  const rows: ResultRow[] = [];
  const flights = new Map<string, Flight>();
  let seq = 0;
  // Wakes the loop when a training ends, so the next experiment of that mode can be proposed at once.
  let nudge: () => void = () => undefined;
  let trainingEnded = false;
  const done = (stoppedBecause: string, abandoned: string | null = null): RunSummary => ({ rows, stoppedBecause, abandoned, leaseLost: lease.lost.aborted });
  const interrupted = () => {
    const left = [...flights.keys()];
    if (left.length > 1) deps.log.warn({ inFlight: left }, 'stopped with several experiments in flight; the next `autoresearch run` resumes them all');
    return done(`interrupted (${abortReason(signal)})`, left[0] ?? null);
  };
  const track = (request: ExperimentRequest, mode: Mode, changes: SectionValues | null) => {
    const flight: Flight = { request, mode, changes, seq: seq++, training: request.kind === 'experiment', landed: Promise.resolve() };
    const trained = () => {
      flight.training = false;
      trainingEnded = true;
      nudge();
    };
    flight.landed = waitFor(deps, request.experimentId, signal, trained).then((execution) => {
      flight.training = false;
      flight.execution = execution;
    });
    // Raced below; an unobserved rejection must not crash the process before the race sees it.
    flight.landed.catch(() => undefined);
    flights.set(request.experimentId, flight);
  };
  /** The oldest landed experiment with no older one of its mode still in flight. */
  const decidable = (): Flight | undefined =>
    [...flights.values()]
      .filter((f) => f.execution !== undefined)
      .sort((a, b) => a.seq - b.seq)
      .find((f) => ![...flights.values()].some((o) => o.mode === f.mode && o.seq < f.seq));
  try {
    await deps.ledger.ensureBranch();
    const created = await deps.ledger.ensureLines();
    if (created.length > 0) deps.log.info({ created, from: deps.ledger.branch }, 'created the champion line of each mode at the tip of run.branch');
    const lines: Record<Mode, ChampionLine> = { full: deps.ledger.line('full'), proxy: deps.ledger.line('proxy') };
    for (const request of await deps.executor.pending()) {
      deps.log.info({ experimentId: request.experimentId, kind: request.kind, mode: request.mode }, 'resuming an experiment left in flight');
      track(request, request.mode === 'proxy' ? 'proxy' : 'full', null);
    }
    for (const line of [deps.ledger, lines.full, lines.proxy]) rows.push(...(await crashUndecided(deps, line)));
    const known = new Set([...readResults(deps.resultsPath).rows.map((r) => r.experimentId), ...flights.keys()]);
    for (const mode of ['full', 'proxy'] as const) {
      for (const stray of await deps.ledger.strayExperiments(mode, known)) {
        // Both lines may hold its parent (they fork from the same commit): recorded once.
        known.add(stray.experimentId);
        rows.push(await crashCommitted(deps, stray, lines[mode].name, 'committed beside another experiment but never submitted (the planner stopped in between); recorded on restart'));
      }
    }

    let started = 0;
    let stopped: string | null = null;
    const need = (mode: Mode) => worstCaseSeconds('experiment', mode, mode, deps.budgets, deps.pickupDeadlineMs, deps.evalAllowanceSeconds);
    const trainSeconds = (mode: Mode) => deps.budgets[mode].budgetSeconds + deps.budgets[mode].graceSeconds;

    /** Starts one baseline or experiment in `mode`; false when nothing was started. */
    const launch = async (mode: Mode): Promise<boolean> => {
      const line = lines[mode];
      const ahead = [...flights.values()].some((f) => f.mode === mode);
      if (!loadChampion(deps, mode, deps.models[mode])) {
        if (ahead || !fitsBefore(deps.now(), options.deadline, deps.evalAllowanceSeconds)) return false;
        deps.log.info({ mode, model: deps.models[mode], branch: line.name }, `no champion for ${mode} mode: recording a baseline first`);
        const request = await baselineRequest(deps, mode, null, line);
        await deps.fence?.();
        await deps.executor.submit({ ...request, mode });
        track({ ...request, mode }, mode, null);
        return true;
      }
      if (started >= options.maxExperiments) {
        stopped ??= `reached ${options.maxExperiments} experiments`;
        return false;
      }
      // Queued behind one in training, it starts at the latest when that one's budget and grace are over.
      if (!fitsBefore(deps.now(), options.deadline, need(mode) + (ahead ? trainSeconds(mode) : 0))) return false;
      const history = readResults(deps.resultsPath).rows;
      const pendingIds = new Set([...(await deps.executor.pending()).map((p) => p.experimentId), ...flights.keys()]);
      const id = experimentId('experiment', deps.now(), (x) => history.some((r) => r.experimentId === x) || pendingIds.has(x));
      const inFlight: InFlightExperiment[] = [...flights.values()].map((f) => ({ experimentId: f.request.experimentId, mode: f.request.mode, values: f.request.values }));
      const planned = await planExperiment(deps, id, mode, mode, signal, { line: ahead ? await besideLine(deps, mode, line, flights) : line, inFlight });
      if (planned.kind === 'interrupted') return false;
      if (planned.kind === 'stop') {
        stopped = planned.reason;
        return false;
      }
      started += 1;
      if (planned.kind === 'invalid') {
        rows.push(planned.row);
        return true;
      }
      await deps.executor.submit(planned.request);
      deps.log.info({ experimentId: id, mode, commit: planned.request.commit, branch: line.name, queuedBehind: ahead, inFlight: flights.size + 1 }, 'experiment submitted');
      track(planned.request, mode, planned.changes);
      return true;
    };

    for (;;) {
      if (signal.aborted) return interrupted();
      const ready = decidable();
      if (ready) {
        if (!ready.execution) return interrupted();
        flights.delete(ready.request.experimentId);
        // A keep moves the line it was committed on, when it was trained in that line's mode (a full job the laptop
        // never took runs in proxy mode and is judged there; the full line does not take it).
        const line = ready.request.kind === 'experiment' && ready.execution.mode === ready.mode ? ready.mode : undefined;
        const row = await decide(deps, ready.request, ready.execution, ready.changes, line);
        rows.push(row);
        if (ready.request.kind === 'baseline' && row.result !== 'base') stopped ??= `the baseline of ${ready.execution.mode} mode failed: ${row.reasons.join('; ')}`;
        continue;
      }
      trainingEnded = false;
      if (stopped === null) {
        let slots: TrainingSlots = trainingSlots(concurrency.maxInFlight, await concurrency.liveWorkers(), options.mode);
        // No trainer awake at all: one experiment in the mode `auto` resolves to, waiting in its queue as a serial night would.
        if (slots.capacity === 0) slots = { capacity: 1, modes: [(await deps.resolveMode(options.mode)).mode] };
        let progressed = true;
        while (progressed && stopped === null && !signal.aborted) {
          progressed = false;
          const state = [...flights.values()].map((f) => ({ mode: f.mode, baseline: f.request.kind === 'baseline', training: f.training }));
          for (const mode of modesWithRoom(slots, state).slice(0, 1)) {
            if (await launch(mode)) progressed = true;
          }
        }
      }
      if (signal.aborted) return interrupted();
      if (flights.size === 0) {
        return done(stopped ?? `the next experiment (up to ${Math.round(Math.min(need('proxy'), need('full')) / 60)} min) cannot finish before the deadline ${options.deadline.toISOString()}`);
      }
      if (decidable() || trainingEnded) continue;
      const woken = new Promise<void>((resolve) => (nudge = resolve));
      const recheck = new Promise<void>((resolve) => setTimeout(resolve, concurrency.recheckMs ?? 2_000).unref());
      await Promise.race([...[...flights.values()].filter((f) => f.execution === undefined).map((f) => f.landed), recheck, woken]);
    }
  } catch (error) {
    if (error instanceof LeaseLostError) return done(error.message);
    throw error;
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/**
 * Where an experiment queued behind another of its mode is built: on the mode's champion (the line's tip, or its
 * parent while the tip is an experiment in flight), committed beside it (GitLedger.commitBeside).
 */
async function besideLine(deps: LoopDeps, mode: Mode, line: ChampionLine, flights: ReadonlyMap<string, Flight>): Promise<ChampionLine> {
  const tip = await line.headExperiment();
  const base = tip && flights.has(tip.experimentId) ? tip.parent : await line.head();
  return {
    name: line.name,
    head: async () => base,
    headExperiment: async () => null,
    commitExperiment: (id, hypothesis, summary, source) => deps.ledger.commitBeside(mode, base, id, hypothesis, summary, source),
  };
}
