import { describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../src/fleet/presence.js';
import { buildStatus, describeProgress, formatStatus } from '../../src/fleet/status-view.js';
import { formatTable } from '../../src/cli/output.js';

const now = new Date('2026-01-02T03:00:00');
const beat = (over: Partial<Heartbeat>): Heartbeat => ({
  machine: 'mini',
  role: 'mini',
  consumes: ['train-proxy'],
  version: '0.1.0',
  pid: 1,
  startedAt: new Date('2026-01-01T22:00:00').toISOString(),
  updatedAt: now.toISOString(),
  busy: null,
  ...over,
});

describe('status view', () => {
  it('shows who is online, who is away since when, and the running job', () => {
    const view = buildStatus(
      {
        live: [
          beat({
            busy: {
              queue: 'train-proxy',
              jobId: 'exp-7-train-proxy',
              experimentId: 'exp-7',
              since: new Date('2026-01-02T02:50:00').toISOString(),
              progress: { stage: 'train', iteration: 40, iters: 120, trainLoss: 1.2345, etaSeconds: 610 },
            },
          }),
        ],
        lastSeen: {
          mini: { role: 'mini', at: now.toISOString() },
          mbp: { role: 'mbp', at: new Date('2026-01-02T01:12:00').toISOString() },
        },
      },
      [{ queue: 'train-full', waiting: 0, active: 0, delayed: 0, failed: 0, completed: 3 }],
      now,
    );
    expect(view.machines.map((m) => [m.machine, m.state])).toEqual([
      ['mbp', 'away'],
      ['mini', 'online'],
    ]);
    const text = formatStatus(view, formatTable);
    expect(text).toContain('AWAY since 01:12 (1h48m ago)');
    expect(text).toContain('online for 5h00m');
    expect(text).toContain('exp-7-train-proxy (10m00s)');
    expect(text).toContain('train 40/120 loss 1.234 eta 10m10s');
  });

  it('tells a person what to do when no worker ever reported', () => {
    expect(formatStatus(buildStatus({ live: [], lastSeen: {} }, [], now), formatTable)).toContain('autoresearch worker --role mini');
  });

  it.each([
    [null, 'starting'],
    [{ stage: 'eval', done: 12, total: 66 }, 'eval 12/66 cases'],
    [{ stage: 'train', iteration: 1, iters: 50, trainLoss: null, etaSeconds: null }, 'train 1/50'],
  ])('progress %j', (progress, text) => {
    expect(describeProgress(progress)).toBe(text);
  });
});
