import { describe, expect, it } from 'vitest';
import { buildTimeline, describeShare, type JobSpan } from '../../src/fleet/timeline.js';
import { spanOf } from '../../queues/job-spans.js';
import { formatTable } from '../../src/cli/output.js';
import { buildStatus, formatStatus } from '../../src/fleet/status-view.js';
import { renderTimelineCard, timeTicks } from '../../src/server/dashboard/timeline.js';

const T0 = Date.parse('2026-01-01T22:00:00Z');
const min = (m: number) => T0 + m * 60_000;
const span = (over: Partial<JobSpan> & Pick<JobSpan, 'machine' | 'startedAt'>): JobSpan => ({
  queue: 'train-proxy',
  jobId: `job-${over.startedAt}`,
  experimentId: 'exp',
  kind: 'training',
  queuedAt: over.startedAt,
  finishedAt: null,
  outcome: 'completed',
  ...over,
});

describe('buildTimeline', () => {
  const cases: Array<{ name: string; spans: JobSpan[]; now: number; machines?: string[]; expect: Record<string, { busy: number; training: number; evaluation: number; share: number; idle: number }> }> = [
    {
      name: 'one machine, training then evaluation with a gap',
      spans: [
        span({ machine: 'mini', startedAt: min(0), finishedAt: min(30) }),
        span({ machine: 'mini', startedAt: min(40), finishedAt: min(50), kind: 'evaluation', queue: 'eval' }),
      ],
      now: min(60),
      expect: { mini: { busy: 40, training: 30, evaluation: 10, share: 40 / 60, idle: 2 } },
    },
    {
      name: 'a running job counts up to now',
      spans: [span({ machine: 'mbp', startedAt: min(0), finishedAt: null, outcome: 'running' })],
      now: min(20),
      expect: { mbp: { busy: 20, training: 20, evaluation: 0, share: 1, idle: 0 } },
    },
    {
      name: 'overlapping jobs on one machine are busy once',
      spans: [
        span({ machine: 'mini', startedAt: min(0), finishedAt: min(30) }),
        span({ machine: 'mini', startedAt: min(20), finishedAt: min(40), kind: 'evaluation', queue: 'eval' }),
      ],
      now: min(80),
      expect: { mini: { busy: 40, training: 30, evaluation: 20, share: 0.5, idle: 1 } },
    },
    {
      name: 'the night starts at the first start of any machine; a later machine is idle until its first job',
      spans: [
        span({ machine: 'mini', startedAt: min(0), finishedAt: min(100) }),
        span({ machine: 'mbp', startedAt: min(50), finishedAt: min(100) }),
      ],
      now: min(100),
      expect: { mbp: { busy: 50, training: 50, evaluation: 0, share: 0.5, idle: 1 }, mini: { busy: 100, training: 100, evaluation: 0, share: 1, idle: 0 } },
    },
    {
      name: 'an online machine without jobs has a lane at 0 %',
      spans: [span({ machine: 'mini', startedAt: min(0), finishedAt: min(10) })],
      now: min(20),
      machines: ['mbp', 'mini'],
      expect: { mbp: { busy: 0, training: 0, evaluation: 0, share: 0, idle: 1 }, mini: { busy: 10, training: 10, evaluation: 0, share: 0.5, idle: 1 } },
    },
    {
      name: 'jobs that ended before the look-back are not part of the night; one straddling it is clipped',
      spans: [
        span({ machine: 'mini', startedAt: min(-24 * 60), finishedAt: min(-23 * 60) }),
        span({ machine: 'mini', startedAt: min(-17 * 60), finishedAt: min(-15 * 60) }),
      ],
      now: min(60),
      // Look-back 16 h: the night starts at min(-15 * 60), where the straddling job is clipped to zero length.
      expect: { mini: { busy: 0, training: 0, evaluation: 0, share: 0, idle: 1 } },
    },
    {
      name: 'a job that finished before it started (clock skew between machines) has zero length',
      spans: [span({ machine: 'mbp', startedAt: min(10), finishedAt: min(5) })],
      now: min(20),
      expect: { mbp: { busy: 0, training: 0, evaluation: 0, share: 0, idle: 1 } },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const timeline = buildTimeline(c.spans, c.now, c.machines ? { machines: c.machines } : {});
      const got = Object.fromEntries(
        timeline.lanes.map((l) => [
          l.machine,
          { busy: l.busyMs / 60_000, training: l.trainingMs / 60_000, evaluation: l.evaluationMs / 60_000, share: l.busyShare, idle: l.idle.length },
        ]),
      );
      expect(got).toEqual(c.expect);
      for (const lane of timeline.lanes) {
        const idle = lane.idle.reduce((sum, s) => sum + (s.end - s.start), 0);
        expect(idle + lane.busyMs).toBe(timeline.end - timeline.start);
      }
    });
  }

  it('no jobs: an empty night that starts now', () => {
    expect(buildTimeline([], min(0))).toEqual({ start: min(0), end: min(0), lanes: [] });
  });

  it('describes a share in whole percent of the night', () => {
    const t = buildTimeline([span({ machine: 'mini', startedAt: min(0), finishedAt: min(45) })], min(60));
    expect(describeShare(t.lanes[0]!, t.end - t.start)).toBe('75% busy (training 75%, evaluation 0%)');
  });
});

describe('spanOf: job hashes read back from Redis', () => {
  const fields = {
    timestamp: String(min(0)),
    processedOn: String(min(2)),
    finishedOn: String(min(30)),
    pb: 'mbp/mbp/train-full',
    data: JSON.stringify({ experimentId: 'exp-1', mode: 'full' }),
  };
  it('takes the machine from the worker name and the experiment from the payload', () => {
    expect(spanOf('train-full', 'exp-1-train-full', fields, 'completed')).toEqual({
      queue: 'train-full',
      jobId: 'exp-1-train-full',
      experimentId: 'exp-1',
      kind: 'training',
      machine: 'mbp',
      queuedAt: min(0),
      startedAt: min(2),
      finishedAt: min(30),
      outcome: 'completed',
    });
  });
  it('ignores finishedOn for a running job, and a payload that is not JSON', () => {
    expect(spanOf('eval', 'exp-1-eval', { ...fields, data: '{not json' }, 'running')).toMatchObject({ kind: 'evaluation', finishedAt: null, experimentId: null });
  });
  const bad: Array<[string, Record<string, string | null>, RegExp]> = [
    ['no worker name (a Worker without a name)', { pb: null }, /pb/],
    ['a worker name without a machine', { pb: 'just-a-name' }, /<machine>\/<role>\/<queue>/],
    ['never started', { processedOn: null }, /processedOn/],
    ['a corrupt number', { processedOn: '12abc' }, /processedOn: expected epoch milliseconds/],
    ['a finished job without an end', { finishedOn: null }, /finishedOn/],
  ];
  for (const [name, over, message] of bad) {
    it(`rejects ${name}`, () => {
      expect(spanOf('train-full', 'exp-1-train-full', { ...fields, ...over }, 'completed')).toMatch(message);
    });
  }
  it('rejects the route queue, which holds no GPU work', () => {
    expect(spanOf('route', 'exp-1-route', fields, 'completed')).toMatch(/not a GPU queue/);
  });
});

describe('the timeline card', () => {
  it('draws a lane per machine with its share, and escapes what it shows', () => {
    const timeline = buildTimeline(
      [
        span({ machine: 'mini', startedAt: min(0), finishedAt: min(30), experimentId: '<script>x</script>' }),
        span({ machine: 'mbp', startedAt: min(10), finishedAt: min(20), outcome: 'failed' }),
      ],
      min(60),
    );
    const markup = renderTimelineCard(timeline).value;
    expect(markup).toContain('data-machine="mini" data-busy-share="0.500"');
    expect(markup).toContain('data-machine="mbp" data-busy-share="0.167"');
    expect(markup).toContain('50% busy');
    expect(markup).toContain('class="seg training failed"');
    expect(markup).not.toContain('<script>');
    expect(markup).toContain('&lt;script&gt;');
  });
  it('says so when Redis could not be read, or nothing ran', () => {
    expect(renderTimelineCard(null).value).toContain('could not be read');
    expect(renderTimelineCard(buildTimeline([], min(0))).value).toContain('No training or evaluation job');
  });
  it('ticks on round clock times', () => {
    expect(timeTicks(min(5), min(6 * 60)).map((t) => new Date(t).toISOString().slice(11, 16))).toEqual(['23:00', '00:00', '01:00', '02:00', '03:00', '04:00']);
  });
});

describe('status: each machine share of the night', () => {
  it('lists the shares under the queues, from the timeline', () => {
    const timeline = buildTimeline(
      [
        span({ machine: 'mini', startedAt: min(0), finishedAt: min(45) }),
        span({ machine: 'mini', startedAt: min(45), finishedAt: min(60), kind: 'evaluation', queue: 'eval' }),
        span({ machine: 'mbp', startedAt: min(30), finishedAt: min(60), queue: 'train-full' }),
      ],
      min(120),
    );
    const view = buildStatus({ live: [], lastSeen: {} }, [], new Date(min(120)), timeline);
    expect(view.night).toEqual({
      since: new Date(min(0)).toISOString(),
      machines: [
        { machine: 'mbp', busyShare: 0.25, trainingShare: 0.25, evaluationShare: 0, summary: '25% busy (training 25%, evaluation 0%)' },
        { machine: 'mini', busyShare: 0.5, trainingShare: 0.375, evaluationShare: 0.125, summary: '50% busy (training 38%, evaluation 13%)' },
      ],
    });
    const text = formatStatus(view, formatTable);
    expect(text).toContain('tonight since');
    expect(text.split('\n').slice(-2)).toEqual(['  mbp 25% busy (training 25%, evaluation 0%)', '  mini 50% busy (training 38%, evaluation 13%)']);
  });

  it('prints no night section when nothing ran', () => {
    const view = buildStatus({ live: [], lastSeen: {} }, [], new Date(min(0)), buildTimeline([], min(0)));
    expect(formatStatus(view, formatTable)).not.toContain('tonight');
  });
});
