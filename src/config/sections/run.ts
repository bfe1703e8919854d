import { z } from 'zod';
import { clockTime, integer, number, oneOf } from '../fields.js';

/** Defaults of `autoresearch run`: the seed's night is 6 experiments in 3 hours. */
export const runSection = z
  .strictObject({
    maxExperiments: integer(1, 1_000).default(6),
    maxHours: number(0.01, 48).default(3),
    until: clockTime().optional(),
    mode: oneOf(['auto', 'full', 'proxy']).default('auto'),
    /** Discarded experiment adapters kept on disk; a champion's adapter is never pruned. */
    keepDiscardedAdapters: integer(0, 10_000).default(20),
  })
  .prefault({});
