import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { writeFileAtomic } from '../fs/atomic.js';
import { TRAILER_LINE, textProblem } from './hyperparameters.js';

/**
 * The git side of the research loop. Experiments live on a dedicated branch; each is one commit touching only
 * python/train.py's section, with the hypothesis in the message and an `Autoresearch-Experiment:` trailer. A keep
 * leaves the commit on the branch; a revert resets the branch to the commit's parent (the champion's section).
 * Every experiment commit also gets `refs/autoresearch/experiments/<id>`, so a reverted diff stays reachable
 * (`git log refs/autoresearch/experiments/<id> -1 -p`) and is never garbage-collected.
 */
export const EXPERIMENT_TRAILER = 'Autoresearch-Experiment';
export const EXPERIMENT_REF_PREFIX = 'refs/autoresearch/experiments/';
export const TRAIN_PY = 'python/train.py';

export class DirtyTreeError extends Error {
  override readonly name = 'DirtyTreeError';
  readonly exitCode = 1;
  constructor(
    readonly repo: string,
    readonly files: DirtyFile[],
  ) {
    super(
      `the work tree of ${repo} has uncommitted changes in ${files.map(describeDirty).join(', ')}; commit them ` +
        `(git commit) or discard them (git restore --staged --worktree -- <file>) first. Nothing was changed: a revert ` +
        `resets tracked files, and a hand edit of ${TRAIN_PY} would be folded into the next experiment's commit`,
    );
  }
}

/** A tracked file that differs from HEAD, and where: in the index (staged), the work tree (unstaged), or both. */
export interface DirtyFile {
  path: string;
  staged: boolean;
  unstaged: boolean;
}

export function describeDirty(f: DirtyFile): string {
  return `${f.path} (${f.staged && f.unstaged ? 'staged and unstaged' : f.staged ? 'staged' : 'unstaged'})`;
}

/** Refused before anything is written: text that git cannot carry, or a line that would read as our trailer. */
export class LedgerInputError extends Error {
  override readonly name = 'LedgerInputError';
  readonly exitCode = 1;
}

export interface ExperimentCommit {
  experimentId: string;
  commit: string;
  parent: string;
}

export class GitLedger {
  private constructor(
    readonly repo: string,
    readonly branch: string,
    private readonly git: SimpleGit,
  ) {}

  static async open(repo: string, branch: string): Promise<GitLedger> {
    const probe = simpleGit({ baseDir: repo });
    if (!(await probe.checkIsRepo())) {
      throw new Error(`${repo} is not a git repository; set paths.repo to the checkout whose ${TRAIN_PY} the loop edits`);
    }
    const top = (await probe.revparse(['--show-toplevel'])).trim();
    const named = (await probe.raw(['config', '--get', 'user.name']).catch(() => '')).trim();
    const git = simpleGit({ baseDir: top });
    // The loop commits unattended: a machine without a git identity still gets attributable commits.
    if (!named) {
      git.env({
        ...process.env,
        GIT_AUTHOR_NAME: 'autoresearch',
        GIT_AUTHOR_EMAIL: 'autoresearch@localhost',
        GIT_COMMITTER_NAME: 'autoresearch',
        GIT_COMMITTER_EMAIL: 'autoresearch@localhost',
      });
    }
    return new GitLedger(top, branch, git);
  }

  /** Tracked files that differ from HEAD, staged or not (untracked files survive a reset and are ignored). */
  async dirtyFiles(): Promise<DirtyFile[]> {
    // -z: paths verbatim (no quoting of spaces or unicode); a rename's entry is followed by its source path.
    const fields = (await this.git.raw(['status', '--porcelain=v1', '-z', '--untracked-files=no'])).split('\0');
    const files: DirtyFile[] = [];
    for (let i = 0; i < fields.length; i += 1) {
      const entry = fields[i]!;
      if (entry.length < 4) continue;
      const [x, y] = [entry[0]!, entry[1]!];
      files.push({ path: entry.slice(3), staged: x !== ' ', unstaged: y !== ' ' });
      if (x === 'R' || x === 'C') i += 1;
    }
    return files;
  }

  async ensureClean(): Promise<void> {
    const files = await this.dirtyFiles();
    if (files.length > 0) throw new DirtyTreeError(this.repo, files);
  }

  /** Puts the work tree on the experiment branch, creating it at HEAD the first time. Requires a clean tree. */
  async ensureBranch(): Promise<{ created: boolean; switchedFrom: string | null }> {
    const current = (await this.git.raw(['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
    if (current === this.branch) return { created: false, switchedFrom: null };
    await this.ensureClean();
    const exists = (await this.git.raw(['branch', '--list', this.branch])).trim().length > 0;
    if (exists) await this.git.raw(['checkout', this.branch]);
    else await this.git.raw(['checkout', '-b', this.branch]);
    return { created: !exists, switchedFrom: current };
  }

  async head(): Promise<string> {
    return (await this.git.revparse(['HEAD'])).trim();
  }

  readTrainPy(): string {
    return readFileSync(join(this.repo, TRAIN_PY), 'utf8');
  }

  async trainPyAt(commit: string): Promise<string> {
    return this.git.raw(['show', `${commit}:${TRAIN_PY}`]);
  }

  /**
   * Writes `source` to train.py and commits it as experiment `id` (an empty commit when the section is
   * unchanged, so every experiment has its commit and its ref). The tree must be clean, train.py included.
   *
   * The commit is built with commit-tree and published in two steps: first the experiment ref, then the
   * branch (compare-and-swap from the parent). So whenever HEAD is an experiment commit its ref exists, and
   * a failure at any step puts train.py and the index back as HEAD has them.
   */
  async commitExperiment(id: string, hypothesis: string, summary: string, source: string): Promise<ExperimentCommit> {
    for (const [what, text] of [['hypothesis', hypothesis], ['summary', summary]] as const) {
      const problem = textProblem(text);
      if (problem) throw new LedgerInputError(`refusing to commit experiment ${id}: its ${what} ${problem}`);
    }
    const trailer = TRAILER_LINE.exec(hypothesis);
    if (trailer) throw new LedgerInputError(`refusing to commit experiment ${id}: its hypothesis has the trailer-shaped line "${trailer[0].trim()}"`);
    await this.ensureClean();
    const parent = await this.head();
    const firstLine = hypothesis.split(/\r?\n/)[0]!.replace(/\s+/g, ' ').trim();
    const subject = `experiment ${id}: ${firstLine.length > 60 ? `${firstLine.slice(0, 57)}...` : firstLine}`;
    const message = `${subject}\n\n${hypothesis}\n\n${summary}\n\n${EXPERIMENT_TRAILER}: ${id}\n`;
    const ref = `${EXPERIMENT_REF_PREFIX}${id}`;
    let refCreated = false;
    let commit = '';
    try {
      writeFileAtomic(join(this.repo, TRAIN_PY), source);
      await this.git.raw(['add', '--', TRAIN_PY]);
      const tree = (await this.git.raw(['write-tree'])).trim();
      // An argument vector, never a shell: quotes, tabs and newlines in the hypothesis reach git verbatim.
      commit = (await this.git.raw(['commit-tree', tree, '-p', parent, '-m', message])).trim();
      await this.git.raw(['update-ref', '-m', `autoresearch: experiment ${id}`, ref, commit, NO_REF]);
      refCreated = true;
      await this.git.raw(['update-ref', '-m', `autoresearch: experiment ${id}`, 'HEAD', commit, parent]);
    } catch (error) {
      if (refCreated) await this.git.raw(['update-ref', '-d', ref, commit]).catch(() => undefined);
      await this.git.raw(['checkout', 'HEAD', '--', TRAIN_PY]).catch(() => undefined);
      throw new Error(`could not commit experiment ${id}: ${(error as Error).message.trim()}; ${TRAIN_PY} and the index are back at HEAD ${parent.slice(0, 12)}`);
    }
    return { experimentId: id, commit, parent };
  }

  /** HEAD as an experiment commit: the experiment ref that points at it (never the message text), or null. */
  async headExperiment(): Promise<ExperimentCommit | null> {
    const commit = await this.head();
    const refs = (await this.git.raw(['for-each-ref', '--points-at', commit, '--format=%(refname)', EXPERIMENT_REF_PREFIX]))
      .split('\n')
      .filter(Boolean);
    if (refs.length === 0) return null;
    const parent = (await this.git.raw(['rev-parse', `${commit}^`])).trim();
    return { experimentId: refs[0]!.slice(EXPERIMENT_REF_PREFIX.length), commit, parent };
  }

  /**
   * A HEAD commit that carries our trailer in its trailer block (git's own parser: the message's last paragraph,
   * where a hypothesis never is) but has no experiment ref: what a planner of an earlier version left when it
   * died between `git commit` and `update-ref`. Creates the missing ref, so the commit stays reachable after
   * the revert, and returns the experiment; null when there is nothing to repair.
   */
  async repairHeadRef(): Promise<ExperimentCommit | null> {
    if (await this.headExperiment()) return null;
    const commit = await this.head();
    const ids = (await this.git.raw(['log', '-1', `--format=%(trailers:key=${EXPERIMENT_TRAILER},valueonly,separator=%x00)`, commit]))
      .split('\0')
      .map((v) => v.trim())
      .filter(Boolean);
    const id = ids.at(-1);
    if (!id || !/^[A-Za-z0-9_-]+$/.test(id) || (await this.experimentRef(id))) return null;
    await this.git.raw(['update-ref', '-m', `autoresearch: ref of experiment ${id} restored`, `${EXPERIMENT_REF_PREFIX}${id}`, commit, NO_REF]);
    const parent = (await this.git.raw(['rev-parse', `${commit}^`])).trim();
    return { experimentId: id, commit, parent };
  }

  /** The full id of a commit named by a (possibly abbreviated) id or ref; null when there is none. */
  private async resolve(name: string): Promise<string | null> {
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

  /**
   * Undoes experiment `id` whose commit is `commit` (its ref when null): when HEAD is that very commit, reset
   * to its parent. Decided by commit ids only, so no message text can stop or redirect it. Idempotent: a
   * second call, or a call after a restart that already reset, changes nothing. The ref keeps the commit.
   */
  async revert(id: string, commit: string | null): Promise<boolean> {
    const named = commit ?? (await this.experimentRef(id));
    const target = named ? await this.resolve(named) : null;
    if (!target || (await this.head()) !== target) return false;
    await this.ensureClean();
    const parent = (await this.git.raw(['rev-parse', `${target}^`])).trim();
    await this.git.raw(['reset', '--hard', parent]);
    return true;
  }
}

/** update-ref's "this ref must not exist yet" (an empty old value works for SHA-1 and SHA-256 repositories). */
const NO_REF = '';
