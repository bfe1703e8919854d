import { z } from 'zod';
import { DEFAULT_SEARCH_SPACE, searchSpaceProblem } from '../../research/hyperparameters.js';
import { integer, text } from '../fields.js';

/**
 * A base model per mode. `model` is a local folder, a Hugging Face id, or `tiny`: the small model this project
 * builds offline from the council's own text (for tests, the demo and machines without the real weights).
 */
const modeSchema = (model: string, budgetSeconds: number) =>
  z
    .strictObject({
      model: text().default(model),
      /** Wall-clock training budget; train.py stops at ITERS or here, whichever comes first. */
      budgetSeconds: integer(5, 24 * 3600).default(budgetSeconds),
      /** Extra time after the budget before the trainer is sent SIGTERM (saving the adapter takes a moment). */
      graceSeconds: integer(1, 3600).default(120),
      /**
       * The hyperparameter table (ranges and baselines) sized for this mode's base model: a file
       * python/search-spaces/<name>.json. The seed's `qwen` fits the 9B and the 27B; `tiny` fits the tiny model.
       */
      searchSpace: text('the name of a file in python/search-spaces/, without .json')
        .superRefine((name, ctx) => {
          const problem = searchSpaceProblem(name);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .default(DEFAULT_SEARCH_SPACE),
    })
    .prefault({});

export const modelsSection = z
  .strictObject({
    proxy: modeSchema('mlx-community/Qwen3.5-9B-MLX-4bit', 15 * 60),
    full: modeSchema('mlx-community/Qwen3.5-27B-4bit', 30 * 60),
    training: z
      .strictObject({
        seed: integer(0, 2 ** 31 - 1).default(0),
        batchSize: integer(1, 64).default(1),
        maxSeqLength: integer(128, 32768).default(2048),
        /** Validation batches per evaluation (mlx-lm's default); a full pass can eat a short budget whole. */
        valBatches: integer(1, 100_000).default(25),
      })
      .prefault({}),
  })
  .prefault({});
