import type { InFlightExperiment } from '../planner/types.js';
import type { ExperimentExecution, ExperimentRequest, Mode, SectionValues } from './executor.js';
import { modesWithRoom, trainingSlots, type LiveWorker, type TrainingSlots } from './in-flight.js';
import type { ChampionLine } from './ledger.js';
import { abortReason, baselineRequest, begin, crashUndecided, decide, planExperiment, waitFor, type LoopDeps, type RunOptions, type RunSummary } from './loop.js';
import { LeaseLostError } from './lease.js';
import { loadChampion } from './outcome.js';
import { readResults } from './results-file.js';
import type { ResultRow } from './results-format.js';
import { experimentId, fitsBefore, worstCaseSeconds } from './schedule.js';

/** run.maxInFlight and the fleet's presence, for a night with several experiments in flight. */
export interface Concurrency {
  maxInFlight: 'auto' | number;
  /** The live workers (fleet presence heartbeats). */
  liveWorkers: () => Promise<readonly LiveWorker[]>;
  /** While experiments run, look at the fleet this often for a slot that opened (the laptop woke). @defaultValue 2_000 */
  recheckMs?: number;
}

interface Flight {
  request: ExperimentRequest;
  /** The slot it holds: the mode it was submitted in (`auto`, from a serial run left behind, holds `full`). */
  mode: Mode;
  changes: SectionValues | null;
  landed: Promise<{ id: string; execution: ExperimentExecution | null }>;
}

/**
 * The night with several experiments in flight: each mode trains on its own machine and keeps its own champion
 * line (`<run.branch>-full`, `<run.branch>-proxy`, created at run.branch's tip the first time), so a keep or a
 * revert in one mode moves only that mode's branch, never the other's experiment in flight nor the work tree.
 * Whenever a mode has a slot (trainingSlots) and nothing in flight, the planner proposes for it, seeing what is
 * in flight; whichever experiment finishes first is decided first, against the champion of its mode at that
 * moment, and gets exactly one row (outcome.ts). Experiments a previous run left in flight are resumed.
 */
export async function runConcurrent(plain: LoopDeps, concurrency: Concurrency, options: RunOptions): Promise<RunSummary> {
  const { deps, lease, signal } = await begin(plain, options.signal);
  const rows: ResultRow[] = [];
  const flights = new Map<string, Flight>();
  const done = (stoppedBecause: string, abandoned: string | null = null): RunSummary => ({ rows, stoppedBecause, abandoned, leaseLost: lease.lost.aborted });
  const interrupted = () => {
    const left = [...flights.keys()];
    if (left.length > 1) deps.log.warn({ inFlight: left }, 'stopped with several experiments in flight; the next `autoresearch run` resumes them all');
    return done(`interrupted (${abortReason(signal)})`, left[0] ?? null);
  };
  const track = (request: ExperimentRequest, mode: Mode, changes: SectionValues | null) => {
    const landed = waitFor(deps, request.experimentId, signal).then((execution) => ({ id: request.experimentId, execution }));
    // Raced below; an unobserved rejection must not crash the process before the race sees it.
    landed.catch(() => undefined);
    flights.set(request.experimentId, { request, mode, changes, landed });
  };
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

    let started = 0;
    let stopped: string | null = null;
    const need = (mode: Mode) => worstCaseSeconds('experiment', mode, mode, deps.budgets, deps.pickupDeadlineMs, deps.evalAllowanceSeconds);

    /** Starts one baseline or experiment in `mode`; false when nothing was started. */
    const launch = async (mode: Mode): Promise<boolean> => {
      const line = lines[mode];
      if (!loadChampion(deps, mode, deps.models[mode])) {
        if (!fitsBefore(deps.now(), options.deadline, deps.evalAllowanceSeconds)) return false;
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
      if (!fitsBefore(deps.now(), options.deadline, need(mode))) return false;
      const history = readResults(deps.resultsPath).rows;
      const pendingIds = new Set([...(await deps.executor.pending()).map((p) => p.experimentId), ...flights.keys()]);
      const id = experimentId('experiment', deps.now(), (x) => history.some((r) => r.experimentId === x) || pendingIds.has(x));
      const inFlight: InFlightExperiment[] = [...flights.values()].map((f) => ({ experimentId: f.request.experimentId, mode: f.request.mode, values: f.request.values }));
      const planned = await planExperiment(deps, id, mode, mode, signal, { line, inFlight });
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
      deps.log.info({ experimentId: id, mode, commit: planned.request.commit, branch: line.name, inFlight: flights.size + 1 }, 'experiment submitted');
      track(planned.request, mode, planned.changes);
      return true;
    };

    for (;;) {
      if (signal.aborted) return interrupted();
      if (stopped === null) {
        let slots: TrainingSlots = trainingSlots(concurrency.maxInFlight, await concurrency.liveWorkers(), options.mode);
        // No trainer awake at all: one experiment in the mode `auto` resolves to, waiting in its queue as a serial night would.
        if (slots.capacity === 0) slots = { capacity: 1, modes: [(await deps.resolveMode(options.mode)).mode] };
        let progressed = true;
        while (progressed && stopped === null && !signal.aborted) {
          progressed = false;
          for (const mode of modesWithRoom(slots, [...flights.values()].map((f) => f.mode))) {
            if (await launch(mode)) progressed = true;
            if (stopped !== null) break;
          }
        }
      }
      if (signal.aborted) return interrupted();
      if (flights.size === 0) {
        return done(stopped ?? `the next experiment (up to ${Math.round(Math.min(need('proxy'), need('full')) / 60)} min) cannot finish before the deadline ${options.deadline.toISOString()}`);
      }
      const recheck = new Promise<null>((resolve) => setTimeout(() => resolve(null), concurrency.recheckMs ?? 2_000).unref());
      const landed = await Promise.race([...[...flights.values()].map((f) => f.landed), recheck]);
      if (!landed) continue;
      const flight = flights.get(landed.id)!;
      if (!landed.execution) return interrupted();
      flights.delete(landed.id);
      const row = await decide(deps, flight.request, landed.execution, flight.changes);
      rows.push(row);
      if (flight.request.kind === 'baseline' && row.result !== 'base') stopped ??= `the baseline of ${landed.execution.mode} mode failed: ${row.reasons.join('; ')}`;
    }
  } catch (error) {
    if (error instanceof LeaseLostError) return done(error.message);
    throw error;
  } finally {
    await lease.release().catch(() => undefined);
  }
}
