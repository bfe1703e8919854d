import { describe, expect, it } from 'vitest';
import { describeDirty, DirtyTreeError, parseDirtyFiles } from '../../src/research/dirty-tree.js';

describe('parseDirtyFiles (git status --porcelain=v1 -z --untracked-files=no)', () => {
  it.each<[string, string, ReturnType<typeof parseDirtyFiles>]>([
    ['a clean tree', '', []],
    ['staged, unstaged and both', 'M  a.txt\0 M b.txt\0MM python/train.py\0', [
      { path: 'a.txt', staged: true, unstaged: false },
      { path: 'b.txt', staged: false, unstaged: true },
      { path: 'python/train.py', staged: true, unstaged: true },
    ]],
    ['paths verbatim: spaces, unicode, no quoting', ' M notes/my file ü.md\0', [{ path: 'notes/my file ü.md', staged: false, unstaged: true }]],
    ['a rename is followed by its source path, which is not a file of its own', 'R  new.txt\0old.txt\0 D gone.txt\0', [
      { path: 'new.txt', staged: true, unstaged: false },
      { path: 'gone.txt', staged: false, unstaged: true },
    ]],
    ['a copy likewise', 'C  copy.txt\0orig.txt\0', [{ path: 'copy.txt', staged: true, unstaged: false }]],
  ])('%s', (_name, text, files) => {
    expect(parseDirtyFiles(text)).toEqual(files);
  });
});

describe('DirtyTreeError', () => {
  it('names every file and where it differs, and says how to fix it', () => {
    const error = new DirtyTreeError('/repo', parseDirtyFiles('MM python/train.py\0 M README.md\0'));
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('/repo has uncommitted changes in python/train.py (staged and unstaged), README.md (unstaged)');
    expect(error.message).toContain('git restore --staged --worktree -- <file>');
    expect(describeDirty({ path: 'x', staged: true, unstaged: false })).toBe('x (staged)');
  });
});
