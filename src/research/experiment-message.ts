import { TRAILER_LINE, textProblem } from './hyperparameters.js';

/** Names the experiment in its commit's trailer block, where git's own parser finds it (GitLedger.repairHeadRef). */
export const EXPERIMENT_TRAILER = 'Autoresearch-Experiment';

/** The trailer of a line commit that takes over a kept experiment's section made beside another (GitLedger.adopt). */
export const ADOPTED_TRAILER = 'Autoresearch-Adopted';

/** Refused before anything is written: text that git cannot carry, or a line that would read as our trailer. */
export class LedgerInputError extends Error {
  override readonly name = 'LedgerInputError';
  readonly exitCode = 1;
}

/** The commit message of experiment `id`; refuses text git cannot carry or a line that would read as our trailer. */
export function experimentMessage(id: string, hypothesis: string, summary: string): string {
  for (const [what, text] of [['hypothesis', hypothesis], ['summary', summary]] as const) {
    const problem = textProblem(text);
    if (problem) throw new LedgerInputError(`refusing to commit experiment ${id}: its ${what} ${problem}`);
  }
  const trailer = TRAILER_LINE.exec(hypothesis);
  if (trailer) throw new LedgerInputError(`refusing to commit experiment ${id}: its hypothesis has the trailer-shaped line "${trailer[0].trim()}"`);
  const firstLine = hypothesis.split(/\r?\n/)[0]!.replace(/\s+/g, ' ').trim();
  const subject = `experiment ${id}: ${firstLine.length > 60 ? `${firstLine.slice(0, 57)}...` : firstLine}`;
  return `${subject}\n\n${hypothesis}\n\n${summary}\n\n${EXPERIMENT_TRAILER}: ${id}\n`;
}

/** The message of the commit that puts kept experiment `id`'s section (trained as `commit`) on top of `branch`. */
export function adoptedMessage(id: string, branch: string, commit: string): string {
  return `keep experiment ${id} on ${branch}\n\nIts section, trained and evaluated as ${commit}, committed on top of the champion it beat.\n\n${ADOPTED_TRAILER}: ${id}\n`;
}
