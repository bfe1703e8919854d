import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { writeFileAtomic } from '../fs/atomic.js';
import { ModeLines, type ChampionLine, type LineMode } from './champion-lines.js';
import { DirtyTreeError, parseDirtyFiles, type DirtyFile } from './dirty-tree.js';
import { EXPERIMENT_TRAILER, experimentMessage } from './experiment-message.js';
import { EXPERIMENT_REF_PREFIX, ExperimentRefs, NO_REF, TRAIN_PY, type ExperimentCommit } from './experiment-refs.js';

export { EXPERIMENT_REF_PREFIX, TRAIN_PY, type ExperimentCommit } from './experiment-refs.js';
export type { ChampionLine, LineMode } from './champion-lines.js';

/**
 * The git side of the research loop. Experiments live on a dedicated branch; each is one commit touching only
 * python/train.py's section, with the hypothesis in the message and an `Autoresearch-Experiment:` trailer. A keep
 * leaves the commit on the branch; a revert resets the branch to the commit's parent (the champion's section).
 * Every experiment commit also gets `refs/autoresearch/experiments/<id>`, so a reverted diff stays reachable
 * (`git log refs/autoresearch/experiments/<id> -1 -p`) and is never garbage-collected.
 */
export class GitLedger implements ChampionLine {
  private readonly refs: ExperimentRefs;
  private readonly lines: ModeLines;

  private constructor(
    readonly repo: string,
    readonly branch: string,
    private readonly git: SimpleGit,
    identity: Record<string, string>,
  ) {
    this.refs = new ExperimentRefs(repo, git, identity);
    this.lines = new ModeLines(this.refs, branch, () => this.head());
  }

  get name(): string {
    return this.branch;
  }

  static async open(repo: string, branch: string): Promise<GitLedger> {
    const probe = simpleGit({ baseDir: repo });
    if (!(await probe.checkIsRepo())) {
      throw new Error(`${repo} is not a git repository; set paths.repo to the checkout whose ${TRAIN_PY} the loop edits`);
    }
    const top = (await probe.revparse(['--show-toplevel'])).trim();
    const named = (await probe.raw(['config', '--get', 'user.name']).catch(() => '')).trim();
    const git = simpleGit({ baseDir: top });
    // The loop commits unattended: a machine without a git identity still gets attributable commits.
    const identity: Record<string, string> = named
      ? {}
      : {
          GIT_AUTHOR_NAME: 'autoresearch',
          GIT_AUTHOR_EMAIL: 'autoresearch@localhost',
          GIT_COMMITTER_NAME: 'autoresearch',
          GIT_COMMITTER_EMAIL: 'autoresearch@localhost',
        };
    if (!named) git.env({ ...process.env, ...identity });
    return new GitLedger(top, branch, git, identity);
  }

  /** The branch of `mode`'s champion line when several experiments are in flight: `<run.branch>-<mode>`. */
  lineBranch(mode: LineMode): string {
    return this.lines.lineBranch(mode);
  }

  /** The mode lines (ModeLines in champion-lines.ts) through the ledger, which the loop holds. */
  ensureLines(): Promise<string[]> {
    return this.lines.ensureLines();
  }

  line(mode: LineMode): ChampionLine {
    return this.lines.line(mode);
  }

  commitBeside(mode: LineMode, base: string, id: string, hypothesis: string, summary: string, source: string): Promise<ExperimentCommit> {
    return this.lines.commitBeside(mode, base, id, hypothesis, summary, source);
  }

  adopt(mode: LineMode, id: string, commit: string): Promise<boolean> {
    return this.lines.adopt(mode, id, commit);
  }

  strayExperiments(mode: LineMode, known: ReadonlySet<string>): Promise<ExperimentCommit[]> {
    return this.lines.strayExperiments(mode, known);
  }

  /** Tracked files that differ from HEAD, staged or not (untracked files survive a reset and are ignored). */
  async dirtyFiles(): Promise<DirtyFile[]> {
    return parseDirtyFiles(await this.git.raw(['status', '--porcelain=v1', '-z', '--untracked-files=no']));
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
    const message = experimentMessage(id, hypothesis, summary);
    await this.ensureClean();
    const parent = await this.head();
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
    return this.refs.experimentAt(await this.head());
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
    if (!id || !/^[A-Za-z0-9_-]+$/.test(id) || (await this.refs.experimentRef(id))) return null;
    await this.git.raw(['update-ref', '-m', `autoresearch: ref of experiment ${id} restored`, `${EXPERIMENT_REF_PREFIX}${id}`, commit, NO_REF]);
    const parent = (await this.git.raw(['rev-parse', `${commit}^`])).trim();
    return { experimentId: id, commit, parent };
  }

  /** The commit experiment `id`'s ref points at, or null. */
  experimentRef(id: string): Promise<string | null> {
    return this.refs.experimentRef(id);
  }

  /**
   * Undoes experiment `id` whose commit is `commit` (its ref when null): when HEAD is that very commit, reset
   * to its parent. Decided by commit ids only, so no message text can stop or redirect it. Idempotent: a
   * second call, or a call after a restart that already reset, changes nothing. The ref keeps the commit.
   */
  async revert(id: string, commit: string | null): Promise<boolean> {
    const named = commit ?? (await this.refs.experimentRef(id));
    const target = named ? await this.refs.resolve(named) : null;
    if (!target) return false;
    const parent = async () => (await this.git.raw(['rev-parse', `${target}^`])).trim();
    if ((await this.head()) === target) {
      await this.ensureClean();
      await this.git.raw(['reset', '--hard', await parent()]);
      return true;
    }
    // Several in flight: the experiment may be a mode line's tip instead.
    return this.lines.moveBack(id, target, parent);
  }
}

