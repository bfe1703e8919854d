import type { SimpleGit } from 'simple-git';
import { experimentMessage } from './experiment-message.js';
import { commitFile, withThrowawayIndex, type IndexGit } from './throwaway-index.js';

export const EXPERIMENT_REF_PREFIX = 'refs/autoresearch/experiments/';
export const TRAIN_PY = 'python/train.py';
/** update-ref's "this ref must not exist yet" (an empty old value works for SHA-1 and SHA-256 repositories). */
export const NO_REF = '';

export interface ExperimentCommit {
  experimentId: string;
  commit: string;
  parent: string;
}

/**
 * The ref-level git the ledger and the champion lines share: resolving names, the experiment refs, and committing
 * train.py on a branch by ref updates alone (a throwaway index, never the work tree).
 */
export class ExperimentRefs {
  constructor(
    readonly repo: string,
    readonly git: SimpleGit,
    /** The author and committer for commits made with plain git (the mode lines): set when the repository has none. */
    private readonly identity: Record<string, string>,
  ) {}

  /** The full id of a commit named by a (possibly abbreviated) id or ref; null when there is none. */
  async resolve(name: string): Promise<string | null> {
    try {
      return (await this.git.raw(['rev-parse', '--verify', '--quiet', `${name}^{commit}`])).trim() || null;
    } catch {
      return null;
    }
  }

  async experimentRef(id: string): Promise<string | null> {
    try {
      return (await this.git.raw(['rev-parse', '--verify', '--quiet', `${EXPERIMENT_REF_PREFIX}${id}`])).trim() || null;
    } catch {
      return null;
    }
  }

  /** `commit` as an experiment commit: the experiment ref that points at it (never the message text), or null. */
  async experimentAt(commit: string): Promise<ExperimentCommit | null> {
    const refs = (await this.git.raw(['for-each-ref', '--points-at', commit, '--format=%(refname)', EXPERIMENT_REF_PREFIX]))
      .split('\n')
      .filter(Boolean);
    if (refs.length === 0) return null;
    const parent = (await this.git.raw(['rev-parse', `${commit}^`])).trim();
    return { experimentId: refs[0]!.slice(EXPERIMENT_REF_PREFIX.length), commit, parent };
  }

  /**
   * Commits `source` as python/train.py on top of branch `ref`'s tip, without the work tree or the index: the
   * tree is built in a throwaway index, then the experiment ref and the branch are published as in
   * commitExperiment (ref first, branch by compare-and-swap), so a crash leaves either nothing or a tip with its ref.
   */
  async commitOnRef(ref: string, id: string, hypothesis: string, summary: string, source: string, beside?: string): Promise<ExperimentCommit> {
    const message = experimentMessage(id, hypothesis, summary);
    const parent = beside ?? (await this.resolve(ref));
    if (!parent) throw new Error(`could not commit experiment ${id}: ${ref} does not exist`);
    const expRef = `${EXPERIMENT_REF_PREFIX}${id}`;
    const commit = await this.withIndex(id, async (git) => {
      let created = '';
      try {
        const blob = await git(['hash-object', '-w', '--stdin', `--path=${TRAIN_PY}`], source);
        const made = await commitFile(git, parent, TRAIN_PY, blob, message);
        await git(['update-ref', '-m', `autoresearch: experiment ${id}`, expRef, made, NO_REF]);
        created = made;
        if (beside === undefined) await git(['update-ref', '-m', `autoresearch: experiment ${id}`, ref, made, parent]);
        return made;
      } catch (error) {
        if (created) await git(['update-ref', '-d', expRef, created]).catch(() => undefined);
        throw new Error(`could not commit experiment ${id} on ${ref.replace('refs/heads/', '')}: ${(error as Error).message.trim()}; the branch is still at ${parent.slice(0, 12)}`);
      }
    });
    return { experimentId: id, commit, parent };
  }

  /** Runs plain git with a throwaway index (GIT_INDEX_FILE), removed afterwards. */
  withIndex<T>(name: string, work: (git: IndexGit) => Promise<T>): Promise<T> {
    return withThrowawayIndex(this.repo, this.identity, name, work);
  }
}
