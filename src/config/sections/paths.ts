import { z } from 'zod';
import { text } from '../fields.js';

/** Where things live. Relative paths resolve against the config file's folder; `~` is the home folder. */
export const pathsSection = z
  .strictObject({
    /** Runtime state: embedded Redis data, the tiny model, datasets, eval runs, caches. */
    state: text().default('.autoresearch'),
    /** The git repository whose python/train.py the loop edits and commits. */
    repo: text().default('.'),
    /** The experiment log; relative to `repo`. */
    results: text().default('results.tsv'),
    /** One event file per experiment, read by the agents' memory. */
    memoryEvents: text().default('~/.sanctum/memory/events'),
    /** Adapters of every experiment, by experiment id; relative to `repo`. */
    adaptersExperimental: text().default('adapters-experimental'),
    /** Training and eval logs, by experiment id; relative to `repo`. */
    logs: text().default('logs'),
    /** Where a kept adapter is promoted; the idle model server loads it from here. */
    stableAdapter: text().default('~/.sanctum/adapters/council-champion'),
  })
  .prefault({});
