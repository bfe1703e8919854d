import type { Mode, RequestedMode } from './executor.js';

/** A live worker as its heartbeat describes it: the machine and the queues it consumes. */
export interface LiveWorker {
  machine: string;
  consumes: readonly string[];
}

export interface TrainingSlots {
  /** How many experiments may be in flight now. */
  capacity: number;
  /** The modes that can train now, in the order a free slot is filled (full first: the longer job starts first). */
  modes: Mode[];
}

const QUEUE_OF: Record<Mode, string> = { full: 'train-full', proxy: 'train-proxy' };

/**
 * What run.maxInFlight allows now. `auto`: one experiment per training queue with a live consumer, counted by
 * machine, since one machine trains one job at a time (its GPU lease): 2 with the laptop (train-full) and the
 * Mini (train-proxy) awake, 1 with the Mini alone or with a single box consuming both queues. A number caps
 * that. Each mode has one champion line, so never more than one experiment per mode. A requested mode other
 * than `auto` keeps the night to that mode. Pure.
 */
export function trainingSlots(maxInFlight: 'auto' | number, live: readonly LiveWorker[], requested: RequestedMode): TrainingSlots {
  const wanted: Mode[] = requested === 'auto' ? ['full', 'proxy'] : [requested];
  const modes = wanted.filter((mode) => live.some((w) => w.consumes.includes(QUEUE_OF[mode])));
  const machines = new Set(live.filter((w) => wanted.some((mode) => w.consumes.includes(QUEUE_OF[mode]))).map((w) => w.machine)).size;
  const byFleet = Math.min(modes.length, machines);
  return { capacity: maxInFlight === 'auto' ? byFleet : Math.min(maxInFlight, byFleet), modes };
}

/** The modes to start an experiment in now: those with a slot and nothing of their own in flight. Pure. */
export function modesWithRoom(slots: TrainingSlots, inFlight: readonly Mode[]): Mode[] {
  const free = Math.max(0, slots.capacity - inFlight.length);
  return slots.modes.filter((mode) => !inFlight.includes(mode)).slice(0, free);
}
