import { adoptedMessage } from './experiment-message.js';
import { EXPERIMENT_REF_PREFIX, NO_REF, TRAIN_PY, type ExperimentCommit, type ExperimentRefs } from './experiment-refs.js';
import { commitFile } from './throwaway-index.js';

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

/** Each mode's own champion line, `<run.branch>-<mode>`, for runs with several experiments in flight. */
export class ModeLines {
  constructor(
    private readonly refs: ExperimentRefs,
    /** `run.branch`, the checked-out line the mode lines start from. */
    private readonly branch: string,
    /** HEAD, for a repository where `run.branch` does not exist yet. */
    private readonly head: () => Promise<string>,
  ) {}

  /** The branch of `mode`'s champion line when several experiments are in flight: `<run.branch>-<mode>`. */
  lineBranch(mode: LineMode): string {
    return `${this.branch}-${mode}`;
  }

  private lineRef(mode: LineMode): string {
    return `refs/heads/${this.lineBranch(mode)}`;
  }

  /**
   * Creates each mode's branch at the tip of `run.branch` the first time (so both lines start from the champion
   * the serial layout left); an existing line is never moved. Returns the branches created.
   */
  async ensureLines(): Promise<string[]> {
    const created: string[] = [];
    const base = (await this.refs.resolve(`refs/heads/${this.branch}`)) ?? (await this.head());
    for (const mode of ['full', 'proxy'] as const) {
      const ref = this.lineRef(mode);
      if (await this.refs.resolve(ref)) continue;
      await this.refs.git.raw(['update-ref', '-m', `autoresearch: ${mode} champion line`, ref, base, NO_REF]);
      created.push(this.lineBranch(mode));
    }
    return created;
  }

  /** `mode`'s champion line (see ensureLines): committed to and reverted by ref updates, never checked out. */
  line(mode: LineMode): ChampionLine {
    const ref = this.lineRef(mode);
    const tip = async () => {
      const commit = await this.refs.resolve(ref);
      if (!commit) throw new Error(`the branch ${this.lineBranch(mode)} does not exist; the run creates it at ${this.branch}'s tip (ensureLines)`);
      return commit;
    };
    return {
      name: this.lineBranch(mode),
      head: tip,
      headExperiment: async () => this.refs.experimentAt(await tip()),
      commitExperiment: (id, hypothesis, summary, source) => this.refs.commitOnRef(ref, id, hypothesis, summary, source),
    };
  }

  /**
   * Commits experiment `id` on `mode`'s line beside the experiment in flight at its tip: built on `base` (the mode's
   * champion commit) and published as its experiment ref only, the branch left where it is. That is how the next
   * experiment of a mode is queued while the previous one still trains, so the machine never waits for the
   * planner; a keep moves the branch to it (adopt).
   */
  async commitBeside(mode: LineMode, base: string, id: string, hypothesis: string, summary: string, source: string): Promise<ExperimentCommit> {
    return this.refs.commitOnRef(this.lineRef(mode), id, hypothesis, summary, source, base);
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
    const ref = this.lineRef(mode);
    const tip = await this.refs.resolve(ref);
    if (!tip || tip === commit) return false;
    const blob = (name: string) => this.refs.git.raw(['rev-parse', `${name}:${TRAIN_PY}`]).then((s) => s.trim());
    const wanted = await blob(commit);
    if ((await blob(tip)) === wanted) return false;
    const parent = (await this.refs.git.raw(['rev-parse', `${commit}^`])).trim();
    if (parent === tip) {
      await this.refs.git.raw(['update-ref', '-m', `autoresearch: keep experiment ${id}`, ref, commit, tip]);
      return true;
    }
    const message = adoptedMessage(id, this.lineBranch(mode), commit);
    const adopted = await this.refs.withIndex(`adopt-${id}`, (git) => commitFile(git, tip, TRAIN_PY, wanted, message));
    await this.refs.git.raw(['update-ref', '-m', `autoresearch: keep experiment ${id}`, ref, adopted, tip]);
    return true;
  }

  /**
   * Experiment refs whose commit was built on `mode`'s line (its parent is on the line) and that are not in
   * `known`: what a planner left when it died between committing an experiment beside another and submitting it.
   */
  async strayExperiments(mode: LineMode, known: ReadonlySet<string>): Promise<ExperimentCommit[]> {
    const tip = await this.refs.resolve(this.lineRef(mode));
    if (!tip) return [];
    const listed = (await this.refs.git.raw(['for-each-ref', '--format=%(objectname) %(refname)', EXPERIMENT_REF_PREFIX])).split('\n').filter(Boolean);
    const stray: ExperimentCommit[] = [];
    for (const line of listed) {
      const [commit, refname] = line.split(' ') as [string, string];
      const experimentId = refname.slice(EXPERIMENT_REF_PREFIX.length);
      if (known.has(experimentId) || commit === tip) continue;
      const parent = (await this.refs.git.raw(['rev-parse', `${commit}^`]).catch(() => '')).trim();
      if (!parent) continue;
      const onLine = await this.refs.git.raw(['merge-base', '--is-ancestor', parent, tip]).then(() => true, () => false);
      if (onLine) stray.push({ experimentId, commit, parent });
    }
    return stray;
  }

  /**
   * The line whose tip is `target` (experiment `id`), moved back to `parent` by compare-and-swap, so the other
   * mode's line and the work tree are never touched. Returns whether a line ended there.
   */
  async moveBack(id: string, target: string, parent: () => Promise<string>): Promise<boolean> {
    for (const mode of ['full', 'proxy'] as const) {
      const ref = this.lineRef(mode);
      if ((await this.refs.resolve(ref)) !== target) continue;
      await this.refs.git.raw(['update-ref', '-m', `autoresearch: revert experiment ${id}`, ref, await parent(), target]);
      return true;
    }
    return false;
  }
}
