import type { JobSpan } from '../src/fleet/timeline.js';

/** Interval arithmetic over a night's GPU job spans and the idle server's log lines, for `bench night`. */

/** Length of the part of [a, b] that no interval of `busy` covers. */
export function uncoveredMs(a: number, b: number, busy: ReadonlyArray<readonly [number, number]>): number {
  if (b <= a) return 0;
  let covered = 0;
  let cursor = a;
  for (const [s, e] of [...busy].sort((x, y) => x[0] - y[0])) {
    const from = Math.max(cursor, s);
    const to = Math.min(b, e);
    if (to > from) {
      covered += to - from;
      cursor = to;
    }
  }
  return b - a - covered;
}

/** Idle gaps between consecutive busy spans (overlapping spans merge), each span cut off at `end`. */
export function gapsOf(spans: readonly JobSpan[], end: number): number[] {
  const busy = spans.map((s) => [s.startedAt, Math.min(end, s.finishedAt ?? end)] as const).sort((a, b) => a[0] - b[0]);
  const gaps: number[] = [];
  let last: number | null = null;
  for (const [a, b] of busy) {
    if (last !== null && a > last) gaps.push(a - last);
    last = Math.max(last ?? b, b);
  }
  return gaps;
}

/** `ms` of the IdleServer's stop and start log lines (src/fleet/idle-server.ts) in a worker's JSON log, within [from, to]. */
export function idleServerCalls(log: string, from: number, to: number): { stops: number[]; starts: number[] } {
  const stops: number[] = [];
  const starts: number[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; ms?: number; time?: number | string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const at = typeof entry.time === 'number' ? entry.time : Date.parse(String(entry.time));
    if (!(at >= from && at <= to) || typeof entry.ms !== 'number') continue;
    if (entry.msg === 'idle model server stopped for GPU work') stops.push(entry.ms);
    if (entry.msg === 'idle model server is up') starts.push(entry.ms);
  }
  return { stops, starts };
}
