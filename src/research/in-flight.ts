import type { Mode, RequestedMode } from './executor.js';

/** A live worker as its heartbeat describes it: the machine and the queues it consumes. */
export interface LiveWorker {
  machine: string;
  consumes: readonly string[];
}

export interface TrainingSlots {
  /** How many modes may train at once now (one machine trains one job at a time). */
  capacity: number;
  /** The modes that can train now, in the order a free slot is filled (full first: the longer job starts first). */
  modes: Mode[];
}

const QUEUE_OF: Record<Mode, string> = { full: 'train-full', proxy: 'train-proxy' };

/**
 * What run.maxInFlight allows now: how many modes train at once. `auto`: one per training queue with a live
 * consumer, counted by machine, since one machine trains one job at a time (its GPU lease): 2 with the laptop
 * (train-full) and the Mini (train-proxy) awake, 1 with the Mini alone or with a single box consuming both
 * queues. A number caps that. One mode's trainings run one after the other on its machine, so never more than
 * one slot per mode (modesWithRoom queues the next behind it). A requested mode other than `auto` keeps the
 * night to that mode. Pure.
 */
export function trainingSlots(maxInFlight: 'auto' | number, live: readonly LiveWorker[], requested: RequestedMode): TrainingSlots {
  const wanted: Mode[] = requested === 'auto' ? ['full', 'proxy'] : [requested];
  const modes = wanted.filter((mode) => live.some((w) => w.consumes.includes(QUEUE_OF[mode])));
  const machines = new Set(live.filter((w) => wanted.some((mode) => w.consumes.includes(QUEUE_OF[mode]))).map((w) => w.machine)).size;
  const byFleet = Math.min(modes.length, machines);
  return { capacity: maxInFlight === 'auto' ? byFleet : Math.min(maxInFlight, byFleet), modes };
}

/** What the loop knows of one experiment in flight, for modesWithRoom. */
export interface FlightState {
  mode: Mode;
  /** A baseline: nothing to train, and its mode has no champion to judge a new experiment against until it is decided. */
  baseline: boolean;
  /** Its training has not ended yet (queued or running); false once it is being evaluated or decided. */
  training: boolean;
}

/**
 * How many experiments a mode may have queued to train behind the one its machine trains: one, so the machine
 * starts the next the moment the current one ends, never waiting for the planner (whose proposal, commit and
 * dataset take seconds), and the planner proposes each with everything decided or in flight before it.
 */
export const QUEUED_AHEAD = 1;
/** At most this many experiments of one mode in flight: one training, one queued, one being evaluated. */
export const MAX_PER_MODE = 3;

/**
 * The modes to start an experiment in now. A mode holds one of the slots (trainingSlots) while an experiment of its
 * own is training or queued to train; one more may be queued behind it (QUEUED_AHEAD) without another slot; one
 * being evaluated holds none. A mode whose baseline is in flight waits for it, and nothing is queued behind a
 * training meanwhile. Pure.
 */
export function modesWithRoom(slots: TrainingSlots, flights: readonly FlightState[]): Mode[] {
  const holding = new Set(flights.filter((f) => f.training || f.baseline).map((f) => f.mode));
  let free = Math.max(0, slots.capacity - holding.size);
  const idle: Mode[] = [];
  const behind: Mode[] = [];
  for (const mode of slots.modes) {
    const own = flights.filter((f) => f.mode === mode);
    if (own.some((f) => f.baseline) || own.length >= MAX_PER_MODE) continue;
    const queued = own.filter((f) => f.training).length;
    if (queued === 0 && free > 0) {
      idle.push(mode);
      free -= 1;
    } else if (queued > 0 && queued <= QUEUED_AHEAD) {
      behind.push(mode);
    }
  }
  // A machine with nothing to train first, then the queues behind a training; none while a mode's baseline runs,
  // so a night's last experiments are not all queued in the mode that got its champion first.
  const baselining = slots.modes.some((mode) => flights.some((f) => f.mode === mode && f.baseline));
  return baselining ? idle : [...idle, ...behind];
}
