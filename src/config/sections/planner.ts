import { z } from 'zod';
import { integer, number, oneOf, text } from '../fields.js';

/** Who proposes the next experiment. The API key comes only from ANTHROPIC_API_KEY, never from this file. */
export const plannerSection = z
  .strictObject({
    /** `auto`: Claude when ANTHROPIC_API_KEY is set, the offline search otherwise. */
    kind: oneOf(['auto', 'claude', 'offline']).default('auto'),
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
    /** Seed of the offline planner's search. */
    seed: integer(0, 2 ** 31 - 1).default(0),
  })
  .prefault({});
