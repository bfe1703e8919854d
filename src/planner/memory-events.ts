import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryEventFileName } from '../research/memory.js';
import type { ResultRow } from '../research/results-format.js';

/**
 * The memory events of the latest experiments in results.tsv, newest last, each cut to `maxChars`: what the
 * hybrid planner shows Claude of the council's own record. Events carry no holdout score.
 */
export function recentMemoryEvents(dir: string, history: readonly ResultRow[], count = 5, maxChars = 1_500): string[] {
  return history
    .filter((r) => r.result !== 'base')
    .slice(-count)
    .map((r) => join(dir, memoryEventFileName(r.experimentId)))
    .filter((file) => existsSync(file))
    .map((file) => {
      const text = readFileSync(file, 'utf8');
      return text.length <= maxChars ? text : `${text.slice(0, maxChars)}\n(cut)`;
    });
}
