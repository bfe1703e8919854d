import { describe, expect, it } from 'vitest';
import { gpuWindowOpen, msUntilClock } from '../../src/fleet/morning.js';
import { chooseMode, pickupAction, pickupReason } from '../../queues/routing.js';

describe('chooseMode', () => {
  const laptop = { machine: 'mbp', consumes: ['train-full'] };
  const mini = { machine: 'mini', consumes: ['train-proxy', 'eval', 'route'] };
  it.each([
    ['auto', [laptop, mini], 'full', 'full-mode worker mbp is online'],
    ['auto', [mini], 'proxy', 'no full-mode worker online'],
    ['auto', [], 'proxy', 'no full-mode worker online'],
    ['proxy', [laptop], 'proxy', 'requested'],
    ['full', [], 'full', 'requested'],
  ] as const)('%s with %j -> %s', (requested, live, mode, reason) => {
    expect(chooseMode(requested, live)).toEqual({ mode, reason });
  });
});

describe('pickupAction', () => {
  it.each([
    ['waiting', 'reroute'],
    ['prioritized', 'reroute'],
    ['delayed', 'reroute'],
    ['unknown', 'reroute'],
    [null, 'reroute'],
    ['active', 'recheck'],
    ['completed', 'leave'],
    ['failed', 'leave'],
  ] as const)('%s -> %s', (state, action) => {
    expect(pickupAction(state)).toBe(action);
  });

  it('words the deadline for a person', () => {
    expect(pickupReason(600_000)).toBe('full job not picked up within 10 min');
    expect(pickupReason(4_000)).toBe('full job not picked up within 4 s');
  });
});

describe('msUntilClock', () => {
  it.each([
    ['07:00', new Date(2026, 0, 1, 6, 30), 30 * 60_000],
    ['07:00', new Date(2026, 0, 1, 7, 0), 24 * 3600_000],
    ['07:00', new Date(2026, 0, 1, 23, 0), 8 * 3600_000],
  ] as const)('%s from %s', (clock, now, ms) => {
    expect(msUntilClock(clock, now)).toBe(ms);
  });
});

describe('gpuWindowOpen', () => {
  it.each([
    ['22:00', '07:00', new Date(2026, 0, 1, 23, 0), true],
    ['22:00', '07:00', new Date(2026, 0, 1, 3, 0), true],
    ['22:00', '07:00', new Date(2026, 0, 1, 6, 59), true],
    ['22:00', '07:00', new Date(2026, 0, 1, 7, 0), false],
    ['22:00', '07:00', new Date(2026, 0, 1, 12, 0), false],
    ['22:00', '07:00', new Date(2026, 0, 1, 22, 0), true],
    ['01:00', '07:00', new Date(2026, 0, 1, 0, 30), false],
    ['01:00', '07:00', new Date(2026, 0, 1, 1, 0), true],
    ['07:00', '07:00', new Date(2026, 0, 1, 12, 0), true],
  ] as const)('night from %s to %s at %s -> %s', (nightStart, morning, now, open) => {
    expect(gpuWindowOpen(nightStart, morning, now)).toBe(open);
  });
});
