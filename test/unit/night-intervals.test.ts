import { describe, expect, it } from 'vitest';
import { gapsOf, idleServerCalls, uncoveredMs } from '../../bench/night-intervals.js';
import type { JobSpan } from '../../src/fleet/timeline.js';

const span = (startedAt: number, finishedAt: number | null): JobSpan => ({
  queue: 'train-proxy', jobId: `j${startedAt}`, experimentId: null, kind: 'training', machine: 'mini', queuedAt: startedAt, startedAt, finishedAt, outcome: finishedAt === null ? 'running' : 'completed',
});

describe('uncoveredMs', () => {
  it.each<[string, number, number, Array<[number, number]>, number]>([
    ['nothing busy', 0, 10, [], 10],
    ['fully covered', 0, 10, [[0, 10]], 0],
    ['overlapping and unsorted intervals count once', 0, 10, [[6, 9], [2, 5], [4, 7]], 3],
    ['intervals reaching outside [a, b] are cut', 5, 10, [[0, 6], [9, 20]], 3],
    ['an empty window', 10, 10, [[0, 20]], 0],
  ])('%s', (_name, a, b, busy, expected) => {
    expect(uncoveredMs(a, b, busy)).toBe(expected);
  });
});

describe('gapsOf', () => {
  it('measures the idle time between consecutive spans, merging overlaps', () => {
    expect(gapsOf([span(0, 10), span(15, 20), span(18, 30), span(31, 40)], 100)).toEqual([5, 1]);
  });

  it('cuts a running span at the end of the window', () => {
    expect(gapsOf([span(50, null), span(0, 40)], 60)).toEqual([10]);
  });
});

describe('idleServerCalls', () => {
  const at = (time: number, msg: string, ms?: number) => JSON.stringify({ time, msg, ...(ms === undefined ? {} : { ms }) });
  it('reads the stop and start durations inside the window, and skips anything else', () => {
    const log = [
      at(5, 'idle model server stopped for GPU work', 900),
      'not json',
      '{ broken',
      at(10, 'idle model server stopped for GPU work', 120),
      at(12, 'idle model server is up', 2500),
      at(13, 'idle model server is up'),
      at(30, 'idle model server is up', 40),
    ].join('\n');
    expect(idleServerCalls(log, 10, 20)).toEqual({ stops: [120], starts: [2500] });
  });
});
