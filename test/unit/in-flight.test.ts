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
  const training = (mode: 'full' | 'proxy') => ({ mode, baseline: false, training: true });
  const evaluating = (mode: 'full' | 'proxy') => ({ mode, baseline: false, training: false });
  const baseline = (mode: 'full' | 'proxy') => ({ mode, baseline: true, training: false });
  const both = { capacity: 2, modes: ['full', 'proxy'] as const };
  it.each([
    { name: 'nothing in flight: full first, then proxy', slots: both, flights: [], room: ['full', 'proxy'] },
    { name: 'the laptop training: proxy takes the free slot first, then one queued behind the full one', slots: both, flights: [training('full')], room: ['proxy', 'full'] },
    { name: 'both training: one more queued behind each', slots: both, flights: [training('full'), training('proxy')], room: ['full', 'proxy'] },
    { name: 'one queued behind each training: none', slots: both, flights: [training('full'), training('full'), training('proxy'), training('proxy')], room: [] },
    { name: 'one being evaluated holds no slot', slots: both, flights: [evaluating('full'), training('proxy'), training('proxy')], room: ['full'] },
    { name: 'at most three of a mode in flight', slots: both, flights: [evaluating('full'), evaluating('full'), training('full')], room: ['proxy'] },
    { name: 'a baseline in flight: its mode waits for the champion', slots: both, flights: [baseline('full')], room: ['proxy'] },
    { name: 'nothing is queued behind a training while the other mode records its baseline', slots: both, flights: [training('full'), baseline('proxy')], room: [] },
    { name: 'capacity 1 and proxy training: only queued behind it', slots: { capacity: 1, modes: ['full', 'proxy'] as const }, flights: [training('proxy')], room: ['proxy'] },
    { name: 'capacity 1, nothing in flight: one', slots: { capacity: 1, modes: ['full', 'proxy'] as const }, flights: [], room: ['full'] },
    { name: 'a resumed experiment over capacity leaves no new slot', slots: { capacity: 1, modes: ['proxy'] as const }, flights: [training('full'), evaluating('proxy')], room: [] },
  ])('$name', ({ slots, flights, room }) => {
    expect(modesWithRoom({ capacity: slots.capacity, modes: [...slots.modes] }, flights)).toEqual(room);
  });
});
