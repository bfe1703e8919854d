import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { buildTimeline, type JobSpan } from '../src/fleet/timeline.js';
import { freePort } from '../src/net/free-port.js';
import { startRedisServer } from '../src/redis/server-process.js';
import { runLoop } from '../src/research/loop.js';
import { readResults } from '../src/research/results-file.js';
import { trainingSummarySchema } from '../src/research/executor.js';
import { mean } from '../src/stats/averages.js';
import { readJobSpans } from '../queues/job-spans.js';
import { PROJECT_ROOT } from '../src/project.js';
import { tinyModelPath } from '../src/train/tiny-model.js';
import { GPU_QUEUES, jobIds } from '../queues/names.js';
import { gapsOf, idleServerCalls, uncoveredMs } from './night-intervals.js';
import { startNight } from '../test/support/night-harness.js';

/**
 * `npm run bench -- night`: the same night twice on this machine, serial (run.maxInFlight 1) and concurrent
 * (auto), each with two worker processes (`mini`: train-proxy, eval, route; `mbp`: train-full), the step trainer
 * timed at the seed's proportions (full 30, proxy 15, eval 6 units) and the real loop, git, Redis and BullMQ.
 * Each night runs for the same window and is then interrupted; it prints experiments decided in the window
 * (goal: concurrent / serial >= 1.8), each machine's GPU busy share and its idle gaps between consecutive GPU
 * jobs (goal <= 5 s), and the orchestration overhead per experiment as a share of its training budget (goal <= 1%).
 * NIGHT_UNIT_MS (default 1000) and NIGHT_WINDOW_UNITS (default 150) set the scale.
 *
 * NIGHT_TRAINER=tiny runs it on the tiny model instead: real training (python/train.py through mlx, budgets of
 * 30 and 15 units, unit 2 s by default), datasets prepared by prepare.py, real evaluations with mlx_lm.server, a
 * real idle mlx_lm.server on the Mini, and each worker pinned to one core (taskset: mini 0, mbp 1). It needs both
 * cores for about a quarter of an hour; the figures are about orchestration, not about the model.
 */
const TINY = process.env.NIGHT_TRAINER === 'tiny';
const UNIT_MS = Number(process.env.NIGHT_UNIT_MS ?? (TINY ? 2_000 : 1_000));
const WINDOW_UNITS = Number(process.env.NIGHT_WINDOW_UNITS ?? 150);
/** The stand-ins' durations; on the tiny model the training budgets (full 30, proxy 15 units) and a real evaluation. */
const TIMING = { fullMs: 30 * UNIT_MS, proxyMs: 15 * UNIT_MS, evalMs: 6 * UNIT_MS };
/** The tiny half: each worker (trainer, model servers included) on its own core, as two machines would be. */
const PIN = { mini: 0, mbp: 1 } as const;

/** The tiny model as built for this checkout, or else the newest one built under .autoresearch/models: the figures are about orchestration. */
async function tinyModelDir(): Promise<string> {
  const stateDir = join(PROJECT_ROOT, '.autoresearch');
  const own = await tinyModelPath({ councilDir: join(PROJECT_ROOT, 'council'), stateDir });
  if (own.exists) return own.modelDir;
  const root = join(stateDir, 'models');
  const built = readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, 'config.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!built[0]) throw new Error(`no tiny model under ${root}; build one with \`npm run demo\` (or python/tiny_model.py) first`);
  return built[0];
}

/** What the worker's evaluation of an experiment took (its summary) and how long its mlx_lm.server took to answer (run.json). */
function evalFigures(logs: string, experimentId: string, span: JobSpan): { workMs: number; serverStartMs: number | null } {
  if (!TINY) return { workMs: TIMING.evalMs, serverStartMs: null };
  const dir = join(logs, experimentId, 'eval');
  // A failed evaluation left no run: all of its job counts as its work.
  if (!existsSync(join(dir, 'summary.json'))) return { workMs: (span.finishedAt ?? span.startedAt) - span.startedAt, serverStartMs: null };
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { seconds: number };
  const run = existsSync(join(dir, 'run.json')) ? (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { serverStartSeconds?: number }) : {};
  return { workMs: summary.seconds * 1000, serverStartMs: typeof run.serverStartSeconds === 'number' ? run.serverStartSeconds * 1000 : null };
}
const GOALS = { ratio: 1.8, idleGapMs: 5_000, overheadShare: 0.01 };

interface Lane {
  machine: string;
  busyShare: number;
  /** Idle gaps between consecutive GPU jobs, an attempt handed back (preempted) counted as GPU work: it ran. */
  gaps: number[];
  /** The same gaps with handed-back attempts counted as idle, as this bench measured before they were recorded. */
  gapsAttemptsIdle: number[];
  /** GPU time spent on attempts that were handed back and run again from the start: work lost to preemption. */
  lostMs: number;
}

interface Overhead {
  experimentId: string;
  mode: 'full' | 'proxy';
  queueWaitMs: number;
  inJobMs: number;
  handoffMs: number;
  evalDelayMs: number;
  /** Time the experiment was ready for a GPU (queued, or inside its job but not yet training or evaluating) while that GPU ran nothing else. */
  idleReadyMs: number;
  /** GPU time its own preempted attempts ran before they were handed back: work thrown away, not in idleReadyMs. */
  lostMs: number;
  /** Its evaluation's mlx_lm.server start (spawn to first answer), inside the evaluation; null with the stand-in evaluator. */
  serverStartMs: number | null;
  budgetMs: number;
}

interface NightFigures {
  label: string;
  windowMs: number;
  decided: { full: number; proxy: number };
  lanes: Lane[];
  overhead: Overhead[];
  /** Proxy trainings handed back for a full-mode evaluation (started more than once), of all proxy trainings decided. */
  preempted: { count: number; of: number };
  /** The Mini's idle model server (the stand-in): its stops and starts in the window, with how long each took. */
  idleServer: { stops: number[]; starts: number[]; gpuJobs: number };
}

async function oneNight(redisUrl: string, maxInFlight: 'auto' | 1): Promise<NightFigures> {
  const label = maxInFlight === 1 ? 'serial' : 'concurrent';
  const real = TINY ? { model: await tinyModelDir(), budgetSeconds: { full: TIMING.fullMs / 1000, proxy: TIMING.proxyMs / 1000 }, searchSpace: 'tiny' } : undefined;
  const night = await startNight({ redisUrl, timing: TIMING, maxInFlight, label: `bench-${label}`, idleServer: true, ...(real ? { real, pin: PIN } : {}) });
  try {
    await night.start('mini');
    await night.start('mbp');
    const stop = new AbortController();
    const started = Date.now();
    const windowMs = WINDOW_UNITS * UNIT_MS;
    const timer = setTimeout(() => stop.abort(new Error('the bench window is over')), windowMs);
    const summary = await runLoop(night.deps, { maxExperiments: 1_000, deadline: new Date(Date.now() + 24 * 3600_000), mode: 'auto', signal: stop.signal });
    clearTimeout(timer);
    const end = started + windowMs;
    const rows = readResults(night.deps.resultsPath).rows.filter((r) => r.result !== 'base' && Date.parse(r.timestamp) <= end);
    const decided = { full: rows.filter((r) => r.mode === 'full').length, proxy: rows.filter((r) => r.mode === 'proxy').length };

    const queues = GPU_QUEUES.map((name) => new Queue(name, { connection: night.redis, prefix: night.prefix }));
    const { spans } = await readJobSpans(night.redis, queues, started - 1_000);
    const proxyQueue = queues[GPU_QUEUES.indexOf('train-proxy')]!;
    const proxyRows = rows.filter((r) => r.mode === 'proxy');
    const restarts = await Promise.all(proxyRows.map(async (r) => (await proxyQueue.getJob(jobIds.train(r.experimentId, 'proxy')))?.attemptsStarted ?? 1));
    const preempted = { count: restarts.filter((n) => n > 1).length, of: proxyRows.length };
    await Promise.all(queues.map((q) => q.close()));
    const inWindow = spans.filter((s) => s.startedAt <= end);
    const timeline = buildTimeline(inWindow, end, { machines: ['mini', 'mbp'] });
    const lanes = timeline.lanes.map((lane): Lane => {
      const own = inWindow.filter((s) => s.machine === lane.machine);
      const handedBack = own.filter((s) => s.outcome === 'handed-back');
      return {
        machine: lane.machine,
        busyShare: lane.busyShare,
        gaps: gapsOf(own, end),
        gapsAttemptsIdle: gapsOf(own.filter((s) => s.outcome !== 'handed-back'), end),
        lostMs: handedBack.reduce((sum, s) => sum + (Math.min(end, s.finishedAt ?? end) - s.startedAt), 0),
      };
    });
    /** Intervals in which `machine` ran a GPU job other than `except` (its own job's time is not someone else's work). */
    const othersOn = (machine: string, except: readonly JobSpan[]) =>
      inWindow.filter((s) => s.machine === machine && !except.includes(s)).map((s) => [s.startedAt, s.finishedAt ?? end] as const);
    const overhead = rows.flatMap((row): Overhead[] => {
      const train = inWindow.find((s) => s.experimentId === row.experimentId && s.kind === 'training' && s.outcome === 'completed');
      const evaluation = inWindow.find((s) => s.experimentId === row.experimentId && s.kind === 'evaluation');
      if (!train || !evaluation || train.finishedAt === null || !row.mode) return [];
      const logged = trainingSummarySchema.safeParse(JSON.parse(readFileSync(join(night.deps.artifacts.logs, row.experimentId, 'training.json'), 'utf8')));
      const trainerMs = logged.success ? logged.data.seconds * 1000 : 0;
      const ownAttempts = inWindow.filter((s) => s.experimentId === row.experimentId);
      const evalEnd = evaluation.finishedAt ?? end;
      const evaluated = evalFigures(night.deps.artifacts.logs, row.experimentId, evaluation);
      return [
        {
          experimentId: row.experimentId,
          mode: row.mode,
          queueWaitMs: train.startedAt - train.queuedAt,
          // Inside the training job but not training: dataset download, adapter upload to the Mini, the GPU lease.
          inJobMs: Math.max(0, train.finishedAt - train.startedAt - trainerMs),
          // From the training's end to its evaluation being queued: the planner's executor noticing and enqueueing.
          handoffMs: Math.max(0, evaluation.queuedAt - train.finishedAt),
          // From the training's end to its evaluation's end, beyond the evaluation itself: waiting for the Mini's GPU
          // (a proxy training already running is not preempted) and the hand-off.
          evalDelayMs: evaluation.finishedAt === null ? 0 : Math.max(0, evaluation.finishedAt - train.finishedAt - evaluated.workMs),
          idleReadyMs:
            uncoveredMs(train.queuedAt, train.finishedAt - trainerMs, othersOn(train.machine, ownAttempts.filter((s) => s.kind === 'training'))) +
            uncoveredMs(train.finishedAt, evalEnd - evaluated.workMs, othersOn(evaluation.machine, [evaluation])),
          serverStartMs: evaluated.serverStartMs,
          lostMs: ownAttempts.filter((a) => a.outcome === 'handed-back').reduce((sum, a) => sum + ((a.finishedAt ?? a.startedAt) - a.startedAt), 0),
          budgetMs: row.mode === 'full' ? TIMING.fullMs : TIMING.proxyMs,
        },
      ];
    });
    // Its shutdown restores the idle server: the one start to time when back-to-back jobs kept it down all night.
    await night.workers.mini!.stop();
    const calls = idleServerCalls(night.workers.mini!.output(), started, Date.now());
    const gpuJobs = inWindow.filter((s) => s.machine === 'mini').length;
    console.log(`  ${label}: stopped because "${summary.stoppedBecause}"`);
    return { label, windowMs, decided, lanes, overhead, preempted, idleServer: { ...calls, gpuJobs } };
  } finally {
    await night.close();
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const gapText = (gaps: number[]) => (gaps.length ? `max ${seconds(Math.max(...gaps))}, mean ${seconds(mean(gaps))} over ${gaps.length}` : 'none');

function print(f: NightFigures): void {
  const total = f.decided.full + f.decided.proxy;
  console.log(`  ${f.label.padEnd(10)} experiments decided in the window: ${total} (full ${f.decided.full}, proxy ${f.decided.proxy})`);
  if (f.preempted.of > 0) {
    console.log(`    proxy trainings preempted by a full-mode evaluation: ${f.preempted.count} of ${f.preempted.of}`);
  }
  for (const lane of f.lanes) {
    console.log(
      `    ${lane.machine.padEnd(5)} GPU busy ${pct(lane.busyShare)}; idle gaps between GPU jobs: ${gapText(lane.gaps)}; ` +
        `GPU time lost to preempted attempts ${pct(lane.lostMs / f.windowMs)} of the window (old gaps, those attempts counted as idle: ${gapText(lane.gapsAttemptsIdle)})`,
    );
  }
  for (const mode of ['full', 'proxy'] as const) {
    const own = f.overhead.filter((o) => o.mode === mode);
    if (own.length === 0) continue;
    const share = (pick: (o: Overhead) => number) => pct(mean(own.map((o) => pick(o) / o.budgetMs)));
    console.log(
      `    ${mode} (${own.length}) orchestration overhead per experiment, share of its training budget: ` +
        `${share((o) => o.idleReadyMs)} (goal <= ${pct(GOALS.overheadShare)}): its GPU idle while it was ready; ` +
        `old definition ${share((o) => o.queueWaitMs + o.inJobMs + o.handoffMs)} = queue wait ${share((o) => o.queueWaitMs)} + in-job ${share((o) => o.inJobMs)} + hand-off ${share((o) => o.handoffMs)}; ` +
        `the result waited for the Mini beyond its evaluation: mean ${seconds(mean(own.map((o) => o.evalDelayMs)))}, max ${seconds(Math.max(...own.map((o) => o.evalDelayMs)))}; ` +
        `GPU time lost to its preempted attempts ${share((o) => o.lostMs)}`,
    );
  }
  if (process.env.NIGHT_DETAIL) {
    for (const o of f.overhead) {
      const parts = [o.queueWaitMs, o.inJobMs, o.handoffMs, o.evalDelayMs, o.idleReadyMs].map((ms) => `${ms} ms`);
      console.log(`      ${o.experimentId} ${o.mode}: queue wait ${parts[0]}, in-job ${parts[1]}, hand-off ${parts[2]}, eval delay ${parts[3]}, idle while ready ${parts[4]}, lost to preemption ${o.lostMs} ms`);
    }
  }
  const starts = f.overhead.flatMap((o) => (o.serverStartMs === null ? [] : [{ ms: o.serverStartMs, budgetMs: o.budgetMs }]));
  if (starts.length > 0) {
    console.log(
      `    evaluation model server (mlx_lm.server, base model + adapter) start: mean ${seconds(mean(starts.map((x) => x.ms)))}, max ${seconds(Math.max(...starts.map((x) => x.ms)))} ` +
        `over ${starts.length}; ${pct(mean(starts.map((x) => x.ms / x.budgetMs)))} of the training budget (inside the evaluation, so not in the overhead above)`,
    );
  }
  printIdleServer(f);
}

function printIdleServer(f: NightFigures): void {
  const { stops, starts, gpuJobs } = f.idleServer;
  const timed = (xs: number[]) => (xs.length ? ` (${xs.map((ms) => `${ms} ms`).join(', ')})` : '');
  console.log(`    mini idle model server (${TINY ? 'mlx_lm.server on the tiny model' : 'stand-in'}): ${gpuJobs} GPU jobs in the window; stopped ${stops.length}x${timed(stops)}, started ${starts.length}x${timed(starts)}`);
}

export async function benchNight(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-bench-night-'));
  const port = await freePort();
  const server = await startRedisServer({ port, dataDir });
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  try {
    const what = TINY ? 'tiny model, real training and evaluation, mini on core 0, mbp on core 1; training budgets full 30, proxy 15 units' : 'stand-ins: full 30, proxy 15, eval 6 units';
    console.log(`night: unit ${UNIT_MS} ms (${what}), window ${WINDOW_UNITS} units; /proc/loadavg before ${loadBefore}`);
    const serial = await oneNight(server.url, 1);
    const concurrent = await oneNight(server.url, 'auto');
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    print(serial);
    print(concurrent);
    const s = serial.decided.full + serial.decided.proxy;
    const c = concurrent.decided.full + concurrent.decided.proxy;
    const maxGap = Math.max(0, ...concurrent.lanes.flatMap((l) => l.gaps));
    const shares = (['full', 'proxy'] as const).map((mode) => concurrent.overhead.filter((o) => o.mode === mode).map((o) => o.idleReadyMs / o.budgetMs));
    // A mode that ran nothing has no overhead: the floor of 0 stands for it.
    const maxOverhead = Math.max(0, ...shares.filter((xs) => xs.length > 0).map(mean));
    console.log(
      `  ratio concurrent / serial: ${s > 0 ? (c / s).toFixed(2) : 'n/a'}x (goal >= ${GOALS.ratio}x); concurrent max idle gap ${seconds(maxGap)} (goal <= ${GOALS.idleGapMs / 1000} s); ` +
        `concurrent overhead ${pct(maxOverhead)} in the worse mode (goal <= ${pct(GOALS.overheadShare)})`,
    );
    console.log(
      '  overhead, old definition: queue wait + in-job time not training + hand-off to eval, whatever the GPU did meanwhile; it counts time\n' +
        '    an experiment queued behind another of its mode waits while its machine trains that one (productive GPU time) as overhead.\n' +
        '    new definition: the time the experiment was ready for a GPU (training queued or in its job before the trainer ran; result\n' +
        '    trained but not yet evaluated) while that machine ran no other GPU job (a job waiting for the GPU lease counts as running: BullMQ\n' +
        '    records when a job was taken, not when it got the GPU). Trainer time is spawn to exit, as src/train/runner.ts measures train.py\n' +
        '    (the stand-in used to report its own time from after its start, which put its process start in "in-job"). Work lost to preemption\n' +
        '    is not orchestration: it is printed apart, per machine and per experiment.',
    );
    console.log(
      `  model-server start: the Mini's idle server (${TINY ? 'a real mlx_lm.server on the tiny model, src/demo/idle-model-server.ts' : 'a stand-in process, test/support/idle-ctl.mjs'}, started and stopped as launchctl would) is stopped before the first\n` +
        `    GPU job and restored idleServer.restoreDelayMs (60 s) after the last, or when the worker stops (its shutdown, after the window, is counted);\n` +
        `    its start is the time from the start command to its first healthy answer.`,
    );
    console.log(`  /proc/loadavg after ${load}`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
