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
    /** The planner's lease in Redis: only one planner runs at a time; a dead one's lease expires after this. */
    leaseTtlMs: integer(1_000, 3_600_000).default(60_000),
  })
  .prefault({});
