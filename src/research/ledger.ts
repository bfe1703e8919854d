import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { writeFileAtomic } from '../fs/atomic.js';

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
    readonly files: string[],
  ) {
    super(
      `the work tree of ${repo} has uncommitted changes in ${files.join(', ')}; commit or discard them first ` +
        `(a revert resets tracked files, so the loop never starts on a dirty tree)`,
    );
  }
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

  /** Tracked files with changes (staged or not), excluding `allow` (repo-relative paths). */
  async dirtyFiles(allow: readonly string[] = []): Promise<string[]> {
    const out = await this.git.raw(['status', '--porcelain=v1', '--untracked-files=no']);
    return out
      .split('\n')
      .filter((l) => l.length > 3)
      .map((l) => l.slice(3).replace(/^.* -> /, ''))
      .filter((f) => !allow.includes(f));
  }

  async ensureClean(allow: readonly string[] = []): Promise<void> {
    const files = await this.dirtyFiles(allow);
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
   * unchanged, so every experiment has its commit and its ref). Only train.py may differ from HEAD.
   */
  async commitExperiment(id: string, hypothesis: string, summary: string, source: string): Promise<ExperimentCommit> {
    await this.ensureClean([TRAIN_PY]);
    const parent = await this.head();
    writeFileAtomic(join(this.repo, TRAIN_PY), source);
    await this.git.raw(['add', '--', TRAIN_PY]);
    const staged = (await this.git.raw(['diff', '--cached', '--name-only'])).split('\n').filter(Boolean);
    if (staged.some((f) => f !== TRAIN_PY)) {
      throw new Error(`refusing to commit experiment ${id}: files other than ${TRAIN_PY} are staged (${staged.join(', ')})`);
    }
    const firstLine = hypothesis.split(/\r?\n/)[0]!.replace(/\s+/g, ' ').trim();
    const subject = `experiment ${id}: ${firstLine.length > 60 ? `${firstLine.slice(0, 57)}...` : firstLine}`;
    const message = `${subject}\n\n${hypothesis}\n\n${summary}\n\n${EXPERIMENT_TRAILER}: ${id}\n`;
    // An argument vector, never a shell: quotes, tabs and newlines in the hypothesis reach git verbatim.
    await this.git.raw(['commit', '--allow-empty', '--no-verify', '--cleanup=verbatim', '-m', message]);
    const commit = await this.head();
    await this.git.raw(['update-ref', `${EXPERIMENT_REF_PREFIX}${id}`, commit]);
    return { experimentId: id, commit, parent };
  }

  /** The experiment id of HEAD's commit, when HEAD is an experiment commit. */
  async headExperiment(): Promise<ExperimentCommit | null> {
    const commit = await this.head();
    const body = await this.git.raw(['log', '-1', '--format=%B', commit]);
    const id = new RegExp(`^${EXPERIMENT_TRAILER}: ([A-Za-z0-9_-]+)\\s*$`, 'm').exec(body)?.[1];
    if (!id) return null;
    const parent = (await this.git.raw(['rev-parse', `${commit}^`])).trim();
    return { experimentId: id, commit, parent };
  }

  async experimentRef(id: string): Promise<string | null> {
    try {
      return (await this.git.raw(['rev-parse', '--verify', '--quiet', `${EXPERIMENT_REF_PREFIX}${id}`])).trim() || null;
    } catch {
      return null;
    }
  }

  /**
   * Undoes experiment `id`: when the branch is at its commit, reset to its parent. Idempotent: a second call, or
   * a call after a restart that already reset, changes nothing. The experiment ref keeps the commit reachable.
   */
  async revert(id: string): Promise<boolean> {
    const head = await this.headExperiment();
    if (!head || head.experimentId !== id) return false;
    await this.ensureClean();
    await this.git.raw(['reset', '--hard', head.parent]);
    return true;
  }
}
