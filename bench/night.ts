import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { buildTimeline, type JobSpan } from '../src/fleet/timeline.js';
import { freePort } from '../src/net/free-port.js';
import { startRedisServer } from '../src/redis/server-process.js';
import { runLoop } from '../src/research/loop.js';
import { readResults } from '../src/research/results-file.js';
import { trainingSummarySchema } from '../src/research/executor.js';
import { readJobSpans } from '../queues/job-spans.js';
import { GPU_QUEUES, jobIds } from '../queues/names.js';
import { startNight } from '../test/support/night-harness.js';

/**
 * `npm run bench -- night`: the same night twice on this machine, serial (run.maxInFlight 1) and concurrent
 * (auto), each with two worker processes (`mini`: train-proxy, eval, route; `mbp`: train-full), the step trainer
 * timed at the seed's proportions (full 30, proxy 15, eval 6 units) and the real loop, git, Redis and BullMQ.
 * Each night runs for the same window and is then interrupted; it prints experiments decided in the window
 * (goal: concurrent / serial >= 1.8), each machine's GPU busy share and its idle gaps between consecutive GPU
 * jobs (goal <= 5 s), and the orchestration overhead per experiment as a share of its training budget (goal <= 1%).
 * NIGHT_UNIT_MS (default 1000) and NIGHT_WINDOW_UNITS (default 150) set the scale.
 */
const UNIT_MS = Number(process.env.NIGHT_UNIT_MS ?? 1_000);
const WINDOW_UNITS = Number(process.env.NIGHT_WINDOW_UNITS ?? 150);
const TIMING = { fullMs: 30 * UNIT_MS, proxyMs: 15 * UNIT_MS, evalMs: 6 * UNIT_MS };
const GOALS = { ratio: 1.8, idleGapMs: 5_000, overheadShare: 0.01 };

interface NightFigures {
  label: string;
  decided: { full: number; proxy: number };
  lanes: Array<{ machine: string; busyShare: number; gaps: number[] }>;
  overhead: Array<{ mode: 'full' | 'proxy'; queueWaitMs: number; inJobMs: number; handoffMs: number; evalDelayMs: number; budgetMs: number }>;
  /** Proxy trainings handed back for a full-mode evaluation (started more than once), of all proxy trainings decided. */
  preempted: { count: number; of: number };
}

async function oneNight(redisUrl: string, maxInFlight: 'auto' | 1): Promise<NightFigures> {
  const label = maxInFlight === 1 ? 'serial' : 'concurrent';
  const night = await startNight({ redisUrl, timing: TIMING, maxInFlight, label: `bench-${label}` });
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
    const lanes = timeline.lanes.map((lane) => {
      const busy = lane.busy.map((s) => [s.start, s.end] as const).sort((a, b) => a[0] - b[0]);
      const gaps: number[] = [];
      let last: number | null = null;
      for (const [a, b] of busy) {
        if (last !== null && a > last) gaps.push(a - last);
        last = Math.max(last ?? b, b);
      }
      return { machine: lane.machine, busyShare: lane.busyShare, gaps };
    });
    const overhead = rows.flatMap((row) => {
      const train = inWindow.find((s) => s.experimentId === row.experimentId && s.kind === 'training' && s.outcome === 'completed');
      const evaluation = inWindow.find((s) => s.experimentId === row.experimentId && s.kind === 'evaluation');
      if (!train || !evaluation || train.finishedAt === null || !row.mode) return [];
      const logged = trainingSummarySchema.safeParse(JSON.parse(readFileSync(join(night.deps.artifacts.logs, row.experimentId, 'training.json'), 'utf8')));
      const trainerMs = logged.success ? logged.data.seconds * 1000 : 0;
      return [
        {
          mode: row.mode,
          queueWaitMs: train.startedAt - train.queuedAt,
          // Inside the training job but not training: dataset download, adapter upload to the Mini, the GPU lease.
          inJobMs: Math.max(0, train.finishedAt - train.startedAt - trainerMs),
          // From the training's end to its evaluation being queued: the planner's executor noticing and enqueueing.
          handoffMs: Math.max(0, evaluation.queuedAt - train.finishedAt),
          // From the training's end to its evaluation's end, beyond the evaluation itself: waiting for the Mini's GPU
          // (a proxy training already running is not preempted) and the hand-off.
          evalDelayMs: evaluation.finishedAt === null ? 0 : Math.max(0, evaluation.finishedAt - train.finishedAt - TIMING.evalMs),
          budgetMs: row.mode === 'full' ? TIMING.fullMs : TIMING.proxyMs,
        },
      ];
    });
    console.log(`  ${label}: stopped because "${summary.stoppedBecause}"`);
    return { label, decided, lanes, overhead, preempted };
  } finally {
    await night.close();
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

function print(f: NightFigures): void {
  const total = f.decided.full + f.decided.proxy;
  console.log(`  ${f.label.padEnd(10)} experiments decided in the window: ${total} (full ${f.decided.full}, proxy ${f.decided.proxy})`);
  if (f.preempted.of > 0) {
    console.log(`    proxy trainings preempted by a full-mode evaluation: ${f.preempted.count} of ${f.preempted.of} (their queue wait includes the lost attempt)`);
  }
  for (const lane of f.lanes) {
    const gaps = lane.gaps.length ? `max ${(Math.max(...lane.gaps) / 1000).toFixed(1)} s, mean ${(mean(lane.gaps) / 1000).toFixed(1)} s over ${lane.gaps.length}` : 'none';
    console.log(`    ${lane.machine.padEnd(5)} GPU busy ${pct(lane.busyShare)}; idle gaps between GPU jobs: ${gaps}`);
  }
  for (const mode of ['full', 'proxy'] as const) {
    const own = f.overhead.filter((o) => o.mode === mode);
    if (own.length === 0) continue;
    const share = (pick: (o: (typeof own)[number]) => number) => pct(mean(own.map((o) => pick(o) / o.budgetMs)));
    const orchestration = mean(own.map((o) => (o.queueWaitMs + o.inJobMs + o.handoffMs) / o.budgetMs));
    console.log(
      `    ${mode} (${own.length}) overhead per experiment as a share of its training budget: queue wait ${share((o) => o.queueWaitMs)}, ` +
        `in-job (dataset + adapter transfer + waiting for the GPU lease) ${share((o) => o.inJobMs)}, hand-off to eval ${share((o) => o.handoffMs)}; ` +
        `orchestration ${pct(orchestration)} (goal <= ${pct(GOALS.overheadShare)}); the result waited for the Mini beyond its evaluation: ` +
        `mean ${(mean(own.map((o) => o.evalDelayMs)) / 1000).toFixed(1)} s, max ${(Math.max(...own.map((o) => o.evalDelayMs)) / 1000).toFixed(1)} s`,
    );
  }
}

export async function benchNight(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-bench-night-'));
  const port = await freePort();
  const server = await startRedisServer({ port, dataDir });
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  try {
    console.log(`night: unit ${UNIT_MS} ms (full 30, proxy 15, eval 6 units), window ${WINDOW_UNITS} units; /proc/loadavg before ${loadBefore}`);
    const serial = await oneNight(server.url, 1);
    const concurrent = await oneNight(server.url, 'auto');
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    print(serial);
    print(concurrent);
    const s = serial.decided.full + serial.decided.proxy;
    const c = concurrent.decided.full + concurrent.decided.proxy;
    const maxGap = Math.max(0, ...concurrent.lanes.flatMap((l) => l.gaps));
    console.log(`  ratio concurrent / serial: ${s > 0 ? (c / s).toFixed(2) : 'n/a'}x (goal >= ${GOALS.ratio}x); concurrent max idle gap ${(maxGap / 1000).toFixed(1)} s (goal <= ${GOALS.idleGapMs / 1000} s)`);
    console.log('  model-server start: not exercised here (no idle server in this bench); test/integration/gpu-lease-order.test.ts checks it stays stopped across back-to-back jobs');
    console.log(`  /proc/loadavg after ${load}`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
