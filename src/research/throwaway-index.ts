import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * Commits built without the work tree or the real index: plain git with GIT_INDEX_FILE pointing at a throwaway
 * file, so a champion line that is never checked out can be committed to while the work tree stays as it is.
 */

/** Plain git on a throwaway index; `input` goes to its stdin. */
export type IndexGit = (args: string[], input?: string) => Promise<string>;

/** A commit on `parent` whose file `path` is `blob` (the file keeps its mode), built in `git`'s own index. */
export async function commitFile(git: IndexGit, parent: string, path: string, blob: string, message: string): Promise<string> {
  const entry = await git(['ls-tree', parent, '--', path]);
  await git(['read-tree', parent]);
  await git(['update-index', '--add', '--cacheinfo', `${entry.split(/\s/)[0] || '100644'},${blob},${path}`]);
  return git(['commit-tree', await git(['write-tree']), '-p', parent, '-m', message]);
}

/** Runs `work` with plain git in `repo` on a throwaway index (removed afterwards); `env` adds to git's environment. */
export async function withThrowawayIndex<T>(repo: string, env: Record<string, string>, name: string, work: (git: IndexGit) => Promise<T>): Promise<T> {
  const index = join(tmpdir(), `autoresearch-index-${process.pid}-${name}`);
  try {
    return await work((args, input) =>
      execa('git', args, { cwd: repo, env: { ...env, GIT_INDEX_FILE: index }, ...(input === undefined ? {} : { input }) }).then((r) => r.stdout.trim()),
    );
  } finally {
    rmSync(index, { force: true });
  }
}
