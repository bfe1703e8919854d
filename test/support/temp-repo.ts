import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** A throwaway git repository holding `python/train.py` (and whatever else is given), committed on `main`. */
export function tempRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoresearch-repo-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' }).toString();
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Test');
  git('config', 'user.email', 'test@example.com');
  for (const [path, text] of Object.entries({ '.gitignore': 'results.tsv\nadapters-experimental/\nlogs/\n', ...files })) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return dir;
}

export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, stdio: 'pipe' }).toString();
}
