import { describe, expect, it } from 'vitest';
import { modesWithRoom, trainingSlots, type LiveWorker } from '../../src/research/in-flight.js';

const MINI: LiveWorker = { machine: 'mini', consumes: ['train-proxy', 'eval', 'route'] };
const MBP: LiveWorker = { machine: 'mbp', consumes: ['train-full'] };
const ALL: LiveWorker = { machine: 'box', consumes: ['train-full', 'train-proxy', 'eval', 'route'] };
const EVAL_ONLY: LiveWorker = { machine: 'mini', consumes: ['eval', 'route'] };

describe('trainingSlots: how many experiments may be in flight', () => {
  it.each([
    { name: 'both Macs awake, auto', max: 'auto' as const, live: [MINI, MBP], requested: 'auto' as const, capacity: 2, modes: ['full', 'proxy'] },
    { name: 'the Mini alone, auto', max: 'auto' as const, live: [MINI], requested: 'auto' as const, capacity: 1, modes: ['proxy'] },
    { name: 'the laptop alone', max: 'auto' as const, live: [MBP], requested: 'auto' as const, capacity: 1, modes: ['full'] },
    { name: 'one box consuming both queues trains one at a time', max: 'auto' as const, live: [ALL], requested: 'auto' as const, capacity: 1, modes: ['full', 'proxy'] },
    { name: 'nobody trains', max: 'auto' as const, live: [EVAL_ONLY], requested: 'auto' as const, capacity: 0, modes: [] },
    { name: 'an explicit 1 caps it', max: 1, live: [MINI, MBP], requested: 'auto' as const, capacity: 1, modes: ['full', 'proxy'] },
    { name: 'a larger number never exceeds one per mode', max: 8, live: [MINI, MBP, ALL], requested: 'auto' as const, capacity: 2, modes: ['full', 'proxy'] },
    { name: 'a requested mode keeps the night to it', max: 'auto' as const, live: [MINI, MBP], requested: 'proxy' as const, capacity: 1, modes: ['proxy'] },
  ])('$name', ({ max, live, requested, capacity, modes }) => {
    expect(trainingSlots(max, live, requested)).toEqual({ capacity, modes });
  });
});

describe('modesWithRoom: where the planner proposes next', () => {
  it.each([
    { name: 'nothing in flight: full first, then proxy', slots: { capacity: 2, modes: ['full', 'proxy'] as const }, inFlight: [] as const, room: ['full', 'proxy'] },
    { name: 'the laptop busy: only proxy', slots: { capacity: 2, modes: ['full', 'proxy'] as const }, inFlight: ['full'] as const, room: ['proxy'] },
    { name: 'both busy: none', slots: { capacity: 2, modes: ['full', 'proxy'] as const }, inFlight: ['full', 'proxy'] as const, room: [] },
    { name: 'capacity 1 and one in flight: none', slots: { capacity: 1, modes: ['full', 'proxy'] as const }, inFlight: ['proxy'] as const, room: [] },
    { name: 'capacity 1, nothing in flight: one', slots: { capacity: 1, modes: ['full', 'proxy'] as const }, inFlight: [] as const, room: ['full'] },
    { name: 'a resumed experiment over capacity leaves no room', slots: { capacity: 1, modes: ['proxy'] as const }, inFlight: ['full', 'proxy'] as const, room: [] },
  ])('$name', ({ slots, inFlight, room }) => {
    expect(modesWithRoom({ capacity: slots.capacity, modes: [...slots.modes] }, [...inFlight])).toEqual(room);
  });
});
