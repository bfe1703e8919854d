import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { writeFileAtomic } from '../fs/atomic.js';
import { DirtyTreeError, parseDirtyFiles, type DirtyFile } from './dirty-tree.js';
import { EXPERIMENT_TRAILER, adoptedMessage, experimentMessage } from './experiment-message.js';
import { commitFile, withThrowawayIndex, type IndexGit } from './throwaway-index.js';

/**
 * The git side of the research loop. Experiments live on a dedicated branch; each is one commit touching only
 * python/train.py's section, with the hypothesis in the message and an `Autoresearch-Experiment:` trailer. A keep
 * leaves the commit on the branch; a revert resets the branch to the commit's parent (the champion's section).
 * Every experiment commit also gets `refs/autoresearch/experiments/<id>`, so a reverted diff stays reachable
 * (`git log refs/autoresearch/experiments/<id> -1 -p`) and is never garbage-collected.
 */
export const EXPERIMENT_REF_PREFIX = 'refs/autoresearch/experiments/';
export const TRAIN_PY = 'python/train.py';

export interface ExperimentCommit {
  experimentId: string;
  commit: string;
  parent: string;
}

/**
 * Where one champion line stands and how an experiment is committed on it: the checked-out branch (HEAD, one
 * line for every mode, `run.maxInFlight: 1`) or one mode's own branch (`<run.branch>-<mode>`, several
 * experiments in flight), which is moved by ref updates only and never checked out.
 */
export interface ChampionLine {
  /** The branch, for logs and docs. */
  readonly name: string;
  head(): Promise<string>;
  /** The line's tip as an experiment commit (its experiment ref points at it), or null. */
  headExperiment(): Promise<ExperimentCommit | null>;
  commitExperiment(id: string, hypothesis: string, summary: string, source: string): Promise<ExperimentCommit>;
}

export type LineMode = 'full' | 'proxy';

export class GitLedger implements ChampionLine {
  private constructor(
    readonly repo: string,
    readonly branch: string,
    private readonly git: SimpleGit,
    /** The author and committer for commits made with plain git (the mode lines): set when the repository has none. */
    private readonly identity: Record<string, string>,
  ) {}

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
    return `${this.branch}-${mode}`;
  }

  /**
   * Creates each mode's branch at the tip of `run.branch` the first time (so both lines start from the champion
   * the serial layout left); an existing line is never moved. Returns the branches created.
   */
  async ensureLines(): Promise<string[]> {
    const created: string[] = [];
    const base = (await this.resolve(`refs/heads/${this.branch}`)) ?? (await this.head());
    for (const mode of ['full', 'proxy'] as const) {
      const ref = `refs/heads/${this.lineBranch(mode)}`;
      if (await this.resolve(ref)) continue;
      await this.git.raw(['update-ref', '-m', `autoresearch: ${mode} champion line`, ref, base, NO_REF]);
      created.push(this.lineBranch(mode));
    }
    return created;
  }

  /** `mode`'s champion line (see ensureLines): committed to and reverted by ref updates, never checked out. */
  line(mode: LineMode): ChampionLine {
    const ref = `refs/heads/${this.lineBranch(mode)}`;
    const tip = async () => {
      const commit = await this.resolve(ref);
      if (!commit) throw new Error(`the branch ${this.lineBranch(mode)} does not exist; the run creates it at ${this.branch}'s tip (ensureLines)`);
      return commit;
    };
    return {
      name: this.lineBranch(mode),
      head: tip,
      headExperiment: async () => this.experimentAt(await tip()),
      commitExperiment: (id, hypothesis, summary, source) => this.commitOnRef(ref, id, hypothesis, summary, source),
    };
  }


  /**
   * Commits experiment `id` on `mode`'s line beside the experiment in flight at its tip: built on `base` (the mode's
   * champion commit) and published as its experiment ref only, the branch left where it is. That is how the next
   * experiment of a mode is queued while the previous one still trains, so the machine never waits for the
   * planner; a keep moves the branch to it (adopt).
   */
  async commitBeside(mode: LineMode, base: string, id: string, hypothesis: string, summary: string, source: string): Promise<ExperimentCommit> {
    return this.commitOnRef(`refs/heads/${this.lineBranch(mode)}`, id, hypothesis, summary, source, base);
  }

  /**
   * A keep of experiment `id` (commit `commit`) on `mode`'s line: the line must end at its section. Nothing to do
   * when the line's tip is that commit or already holds its train.py (a restarted planner deciding again). A commit
   * made beside another experiment (commitBeside) is fast-forwarded onto when the line is still at its parent, and
   * otherwise (a keep of the other experiment moved the line meanwhile) its train.py is committed on top of the
   * line with an `Autoresearch-Adopted:` trailer, so the branch always reads as its champions. Compare-and-swap
   * on the tip, like every line move. Returns whether the line moved.
   */
  async adopt(mode: LineMode, id: string, commit: string): Promise<boolean> {
    const ref = `refs/heads/${this.lineBranch(mode)}`;
    const tip = await this.resolve(ref);
    if (!tip || tip === commit) return false;
    const blob = (name: string) => this.git.raw(['rev-parse', `${name}:${TRAIN_PY}`]).then((s) => s.trim());
    const wanted = await blob(commit);
    if ((await blob(tip)) === wanted) return false;
    const parent = (await this.git.raw(['rev-parse', `${commit}^`])).trim();
    if (parent === tip) {
      await this.git.raw(['update-ref', '-m', `autoresearch: keep experiment ${id}`, ref, commit, tip]);
      return true;
    }
    const message = adoptedMessage(id, this.lineBranch(mode), commit);
    const adopted = await this.withIndex(`adopt-${id}`, (git) => commitFile(git, tip, TRAIN_PY, wanted, message));
    await this.git.raw(['update-ref', '-m', `autoresearch: keep experiment ${id}`, ref, adopted, tip]);
    return true;
  }

  /**
   * Experiment refs whose commit was built on `mode`'s line (its parent is on the line) and that are not in
   * `known`: what a planner left when it died between committing an experiment beside another and submitting it.
   */
  async strayExperiments(mode: LineMode, known: ReadonlySet<string>): Promise<ExperimentCommit[]> {
    const tip = await this.resolve(`refs/heads/${this.lineBranch(mode)}`);
    if (!tip) return [];
    const listed = (await this.git.raw(['for-each-ref', '--format=%(objectname) %(refname)', EXPERIMENT_REF_PREFIX])).split('\n').filter(Boolean);
    const stray: ExperimentCommit[] = [];
    for (const line of listed) {
      const [commit, refname] = line.split(' ') as [string, string];
      const experimentId = refname.slice(EXPERIMENT_REF_PREFIX.length);
      if (known.has(experimentId) || commit === tip) continue;
      const parent = (await this.git.raw(['rev-parse', `${commit}^`]).catch(() => '')).trim();
      if (!parent) continue;
      const onLine = await this.git.raw(['merge-base', '--is-ancestor', parent, tip]).then(() => true, () => false);
      if (onLine) stray.push({ experimentId, commit, parent });
    }
    return stray;
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
    return this.experimentAt(await this.head());
  }

  private async experimentAt(commit: string): Promise<ExperimentCommit | null> {
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
    if (!target) return false;
    const parent = async () => (await this.git.raw(['rev-parse', `${target}^`])).trim();
    if ((await this.head()) === target) {
      await this.ensureClean();
      await this.git.raw(['reset', '--hard', await parent()]);
      return true;
    }
    // A mode line whose tip is the experiment (several in flight): moved back by compare-and-swap, so the other
    // mode's line and the work tree are never touched.
    for (const mode of ['full', 'proxy'] as const) {
      const ref = `refs/heads/${this.lineBranch(mode)}`;
      if ((await this.resolve(ref)) !== target) continue;
      await this.git.raw(['update-ref', '-m', `autoresearch: revert experiment ${id}`, ref, await parent(), target]);
      return true;
    }
    return false;
  }

  /**
   * Commits `source` as python/train.py on top of branch `ref`'s tip, without the work tree or the index: the
   * tree is built in a throwaway index, then the experiment ref and the branch are published as in
   * commitExperiment (ref first, branch by compare-and-swap), so a crash leaves either nothing or a tip with its ref.
   */
  private async commitOnRef(ref: string, id: string, hypothesis: string, summary: string, source: string, beside?: string): Promise<ExperimentCommit> {
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
  private withIndex<T>(name: string, work: (git: IndexGit) => Promise<T>): Promise<T> {
    return withThrowawayIndex(this.repo, this.identity, name, work);
  }
}

/** update-ref's "this ref must not exist yet" (an empty old value works for SHA-1 and SHA-256 repositories). */
const NO_REF = '';
