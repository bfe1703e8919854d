import type { Redis } from 'ioredis';
import type { Planner } from '../planner/types.js';
import type { ExperimentProgress, Mode, RequestedMode, SectionValues } from './executor.js';
import type { SearchSpace } from './hyperparameters.js';
import type { LiveWorker } from './in-flight.js';
import type { Recorder } from './outcome.js';
import type { ModeBudgets } from './schedule.js';

/** Reads and writes python/train.py's AGENT MODIFIABLE section (src/research/section.ts) in a search space. */
export interface SectionCodec {
  read(source: string, space: SearchSpace): SectionValues;
  write(source: string, values: SectionValues, space: SearchSpace): string;
}

export interface LoopDeps extends Recorder {
  planner: Planner;
  section: SectionCodec;
  /** Each mode's search space (models.<mode>.searchSpace): the table its base model is planned and checked in. */
  spaces: Record<Mode, SearchSpace>;
  redis: Redis;
  redisPrefix: string;
  leaseTtlMs: number;
  /** The mode an `auto` request would get right now, and why (fleet presence). */
  resolveMode: (requested: RequestedMode) => Promise<{ mode: Mode; reason: string }>;
  models: Record<Mode, string>;
  budgets: ModeBudgets;
  pickupDeadlineMs: number;
  evalAllowanceSeconds: number;
  onProgress?: (progress: ExperimentProgress) => void;
  /** run.maxInFlight and who is awake; absent or a maxInFlight of 1: one experiment at a time on run.branch. */
  concurrency?: Concurrency;
}

/** run.maxInFlight and the fleet's presence, for a night with several experiments in flight. */
export interface Concurrency {
  maxInFlight: 'auto' | number;
  /** The live workers (fleet presence heartbeats). */
  liveWorkers: () => Promise<readonly LiveWorker[]>;
  /** While experiments run, look at the fleet this often for a slot that opened (the laptop woke). @defaultValue 2_000 */
  recheckMs?: number;
}
