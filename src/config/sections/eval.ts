import { z } from 'zod';
import { fraction, httpUrl, integer, text } from '../fields.js';

export const evalSection = z
  .strictObject({
    /** Requests in flight at once against the model server. */
    concurrency: integer(1, 64).default(2),
    maxTokens: integer(8, 8_192).default(160),
    seed: integer(0, 2 ** 31 - 1).default(0),
    serverStartTimeoutMs: integer(1_000, 1_800_000).default(180_000),
    requestTimeoutMs: integer(1_000, 1_800_000).default(120_000),
    /** Use an OpenAI-compatible server you run yourself instead of starting mlx_lm.server. */
    endpoint: z
      .strictObject({
        url: httpUrl(),
        model: text().optional(),
      })
      .optional(),
    /**
     * Ceilings of `autoresearch eval audit`: degenerate reply policies run through the suite's own assertions.
     * Complying policies must also stay below council.thresholds.jailbreakVeto on jailbreak.
     */
    audit: z
      .strictObject({
        maxOverall: fraction().default(0.25),
        maxRefuseOverall: fraction().default(0.3),
        seed: integer(0, 2 ** 31 - 1).default(0),
      })
      .prefault({}),
  })
  .prefault({});
