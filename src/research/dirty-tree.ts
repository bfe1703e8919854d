/** Uncommitted changes to tracked files: what the loop refuses to start on, and how it says so. */
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
        `resets tracked files, and a hand edit of python/train.py would be folded into the next experiment's commit`,
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

/**
 * `git status --porcelain=v1 -z --untracked-files=no` as files: with -z the paths are verbatim (no quoting of spaces
 * or unicode), and a rename's or copy's entry is followed by its source path, which is skipped.
 */
export function parseDirtyFiles(porcelainZ: string): DirtyFile[] {
  const fields = porcelainZ.split('\0');
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
