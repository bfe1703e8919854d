import { z } from 'zod';
import { fraction, integer, number, oneOf, text } from '../fields.js';

/** Who proposes the next experiment. The API key comes only from ANTHROPIC_API_KEY, never from this file. */
export const plannerSection = z
  .strictObject({
    /**
     * `offline`: an Optuna sampler alone. `claude`: Claude alone. `hybrid`: the sampler proposes, and for a share
     * of the experiments Claude picks, adjusts or replaces its candidates. `auto`: hybrid when
     * ANTHROPIC_API_KEY is set, offline otherwise.
     */
    kind: oneOf(['auto', 'offline', 'claude', 'hybrid']).default('auto'),
    /** The offline planner's Optuna sampler (python/planner.py); `gp` needs torch and scipy in the venv. */
    sampler: oneOf(['tpe', 'gp', 'cmaes', 'random']).default('tpe'),
    hybrid: z
      .strictObject({
        /** Share of experiments where Claude decides, chosen deterministically by experiment count. */
        claudeShare: fraction().default(0.3),
        /** How many of the sampler's candidates Claude sees. */
        candidates: integer(1, 8).default(3),
      })
      .prefault({}),
    model: text().default('claude-haiku-5-5'),
    maxTokens: integer(256, 32_000).default(2_048),
    /** Planning stops for the night once the estimated spend reaches this. */
    maxCostUsdPerNight: number(0, 1_000).default(2),
    requestTimeoutMs: integer(1_000, 600_000).default(60_000),
    /** Retries of one request on rate limits (429), overload (529), 5xx and timeouts, with the SDK's backoff. */
    maxRetries: integer(0, 10).default(4),
    /** Price of the model, for the per-proposal cost and the nightly cap (cache writes 1.25x, reads 0.1x input). */
    inputUsdPerMTok: number(0, 1_000).default(1),
    outputUsdPerMTok: number(0, 1_000).default(5),
    /** Seed of the offline planner's sampler. */
    seed: integer(0, 2 ** 31 - 1).default(0),
  })
  .prefault({});
