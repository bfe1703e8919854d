/**
 * The night per machine, from job records alone: when each GPU job was queued, started and finished, and on
 * which machine. Pure (no I/O, no BullMQ): queues/job-spans.ts reads the records, the dashboard draws them and
 * `autoresearch status` prints the busy shares.
 */
export type WorkKind = 'training' | 'evaluation';

export interface JobSpan {
  queue: string;
  jobId: string;
  experimentId: string | null;
  kind: WorkKind;
  machine: string;
  /** Epoch ms. */
  queuedAt: number;
  startedAt: number;
  /** Null while the job runs. */
  finishedAt: number | null;
  /** `handed-back`: an attempt given back to its queue (preempted, or a shutdown); the job ran again later. */
  outcome: 'completed' | 'failed' | 'running' | 'handed-back';
}

export interface TimelineSegment {
  kind: WorkKind | 'idle';
  start: number;
  end: number;
  /** The job drawn, for busy segments. */
  job?: Pick<JobSpan, 'queue' | 'jobId' | 'experimentId' | 'outcome' | 'queuedAt'>;
}

export interface MachineLane {
  machine: string;
  /** Jobs in start order (they may overlap when a machine runs two worker processes), then the idle gaps. */
  busy: TimelineSegment[];
  idle: TimelineSegment[];
  /** Time with at least one job running; training and evaluation may overlap, so they can sum to more. */
  busyMs: number;
  trainingMs: number;
  evaluationMs: number;
  /** busyMs over the night so far, in [0, 1]. */
  busyShare: number;
}

export interface NightTimeline {
  /** Epoch ms: the first job start within the look-back, or `now` when there was none. */
  start: number;
  end: number;
  lanes: MachineLane[];
}

/** How far back "the night" may reach: a long evening start plus a full night. */
export const NIGHT_LOOKBACK_MS = 16 * 3_600_000;

type Interval = readonly [number, number];

/** Total length of the union of intervals. */
function unionMs(intervals: readonly Interval[]): number {
  return merge(intervals).reduce((sum, [a, b]) => sum + (b - a), 0);
}

function merge(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * Lanes and busy shares for the night ending at `now`. The night starts at the earliest job start among jobs
 * still running or finished within `lookbackMs`, clipped to the look-back. `machines` adds lanes for machines
 * with no job yet (an online machine that sat idle all night shows as 0 %, not as missing).
 */
export function buildTimeline(
  spans: readonly JobSpan[],
  now: number,
  options: { lookbackMs?: number; machines?: readonly string[] } = {},
): NightTimeline {
  const earliest = now - (options.lookbackMs ?? NIGHT_LOOKBACK_MS);
  const inNight = spans.filter((s) => s.startedAt <= now && (s.finishedAt ?? now) >= earliest);
  const start = inNight.length > 0 ? Math.max(earliest, Math.min(...inNight.map((s) => s.startedAt))) : now;
  const night = now - start;
  const machines = [...new Set([...inNight.map((s) => s.machine), ...(options.machines ?? [])])].sort((a, b) => a.localeCompare(b));
  const lanes = machines.map((machine): MachineLane => {
    const busy = inNight
      .filter((s) => s.machine === machine)
      .map((s): TimelineSegment => ({
        kind: s.kind,
        start: Math.max(start, s.startedAt),
        end: Math.min(now, Math.max(s.startedAt, s.finishedAt ?? now)),
        job: { queue: s.queue, jobId: s.jobId, experimentId: s.experimentId, outcome: s.outcome, queuedAt: s.queuedAt },
      }))
      .sort((a, b) => a.start - b.start || a.end - b.end);
    const merged = merge(busy.map((s) => [s.start, s.end] as const));
    const idle: TimelineSegment[] = [];
    let cursor = start;
    for (const [a, b] of merged) {
      if (a > cursor) idle.push({ kind: 'idle', start: cursor, end: a });
      cursor = Math.max(cursor, b);
    }
    if (cursor < now) idle.push({ kind: 'idle', start: cursor, end: now });
    const busyMs = unionMs(merged);
    const of = (kind: WorkKind) => unionMs(busy.filter((s) => s.kind === kind).map((s) => [s.start, s.end] as const));
    return {
      machine,
      busy,
      idle,
      busyMs,
      trainingMs: of('training'),
      evaluationMs: of('evaluation'),
      busyShare: night > 0 ? busyMs / night : 0,
    };
  });
  return { start, end: now, lanes };
}

/** "mini 74% (train 60%, eval 14%)": one machine's share of the night, for terminals and tooltips. */
export function describeShare(lane: MachineLane, nightMs: number): string {
  const pct = (ms: number) => `${nightMs > 0 ? Math.round((ms / nightMs) * 100) : 0}%`;
  return `${pct(lane.busyMs)} busy (training ${pct(lane.trainingMs)}, evaluation ${pct(lane.evaluationMs)})`;
}
