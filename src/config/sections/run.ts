import { z } from 'zod';
import { clockTime, integer, number, oneOf, text } from '../fields.js';

/** Defaults of `autoresearch run`: the seed's night is 6 experiments in 3 hours. */
export const runSection = z
  .strictObject({
    maxExperiments: integer(1, 1_000).default(6),
    maxHours: number(0.01, 48).default(3),
    until: clockTime().optional(),
    mode: oneOf(['auto', 'full', 'proxy']).default('auto'),
    /** Discarded experiment adapters kept on disk; a champion's adapter is never pruned. */
    keepDiscardedAdapters: integer(0, 10_000).default(20),
    /** The git branch experiments are committed on; created at HEAD the first time. */
    branch: text().regex(/^[A-Za-z0-9._/-]+$/, { error: 'expected a git branch name' }).default('autoresearch/council'),
    /** Time allowed for an evaluation when deciding whether an experiment can still finish before the deadline. */
    evalAllowanceSeconds: integer(1, 24 * 3600).default(900),
    /**
     * Trainings at once. `auto`: one per training queue with a live consumer machine (2 with the laptop and the Mini
     * awake, 1 with the Mini alone), each mode on its own champion line `<branch>-full` / `<branch>-proxy`, with the
     * next experiment of a mode queued behind the one its machine trains; a number caps that (at most one per mode).
     * 1: one experiment at a time on run.branch (the serial night).
     */
    maxInFlight: z.union([z.literal('auto'), integer(1, 8)], { error: 'expected "auto" or a whole number from 1 to 8' }).default('auto'),
    /** The planner's lease in Redis: only one planner runs at a time; a dead one's lease expires after this. */
    leaseTtlMs: integer(1_000, 3_600_000).default(60_000),
  })
  .prefault({});
