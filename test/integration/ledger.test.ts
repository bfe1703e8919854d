import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LedgerInputError } from '../../src/research/experiment-message.js';
import { DirtyTreeError } from '../../src/research/dirty-tree.js';
import { EXPERIMENT_REF_PREFIX, GitLedger } from '../../src/research/ledger.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';

const TRAIN = 'import x\n# AGENT MODIFIABLE\nLORA_RANK = 32\n# END\nprint(1)\n';
const dirs: string[] = [];
function repo(): string {
  const dir = tempRepo({ 'python/train.py': TRAIN, 'README.md': 'hello\n' });
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('GitLedger', () => {
  it('creates the experiment branch and commits one experiment touching only train.py', async () => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    expect(await ledger.ensureBranch()).toEqual({ created: true, switchedFrom: 'main' });
    expect(gitIn(dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('autoresearch/test');
    const hostile = `Rank "48" isn't '''too''' much\n\tsecond line with a tab and a \\ backslash\n# not a comment`;
    const c = await ledger.commitExperiment('exp-1', hostile, 'LORA_RANK 32 -> 48', TRAIN.replace('32', '48'));
    expect(gitIn(dir, 'show', '--name-only', '--format=', c.commit).trim()).toBe('python/train.py');
    const body = gitIn(dir, 'log', '-1', '--format=%B', c.commit);
    expect(body).toContain(hostile);
    expect(body).toContain('Autoresearch-Experiment: exp-1');
    expect(gitIn(dir, 'rev-parse', `${EXPERIMENT_REF_PREFIX}exp-1`).trim()).toBe(c.commit);
    expect(await ledger.headExperiment()).toEqual(c);
  });

  it('revert resets to the champion, keeps the tried diff reachable, and is idempotent', async () => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    await ledger.ensureBranch();
    const kept = await ledger.commitExperiment('exp-1', 'kept one', 'LORA_RANK 32 -> 48', TRAIN.replace('32', '48'));
    const tried = await ledger.commitExperiment('exp-2', 'reverted one', 'LORA_RANK 48 -> 64', TRAIN.replace('32', '64'));
    expect(tried.parent).toBe(kept.commit);
    expect(await ledger.revert('exp-2', tried.commit)).toBe(true);
    expect(await ledger.head()).toBe(kept.commit);
    expect(readFileSync(join(dir, 'python/train.py'), 'utf8')).toContain('LORA_RANK = 48');
    expect(gitIn(dir, 'show', `${EXPERIMENT_REF_PREFIX}exp-2`, '--format=')).toContain('+LORA_RANK = 64');
    expect(await ledger.revert('exp-2', tried.commit)).toBe(false);
    expect(await ledger.head()).toBe(kept.commit);
    expect((await ledger.headExperiment())?.experimentId).toBe('exp-1');
  });

  it('an unchanged section still gets its own (empty) commit and ref', async () => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    const before = await ledger.head();
    const c = await ledger.commitExperiment('exp-same', 'same section', 'no change', TRAIN);
    expect(c.parent).toBe(before);
    expect(gitIn(dir, 'show', '--name-only', '--format=', c.commit).trim()).toBe('');
    await ledger.revert('exp-same', c.commit);
    expect(await ledger.head()).toBe(before);
  });

  it('refuses a dirty tree and names the files', async () => {
    const dir = repo();
    writeFileSync(join(dir, 'README.md'), 'changed\n');
    writeFileSync(join(dir, 'untracked.txt'), 'ignored: untracked files survive a reset\n');
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    await expect(ledger.ensureBranch()).rejects.toThrow(DirtyTreeError);
    await expect(ledger.ensureClean()).rejects.toThrow(/uncommitted changes in README\.md \(unstaged\);/);
    await expect(ledger.commitExperiment('exp-1', 'h', 's', TRAIN)).rejects.toThrow(/README\.md/);
    expect(gitIn(dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
  });

  it('a dirty train.py is refused like any tracked file: staged and unstaged files are all named, the hand edit survives', async () => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    await ledger.ensureBranch();
    const handEdit = TRAIN.replace('LORA_RANK = 32', 'LORA_RANK = 16');
    writeFileSync(join(dir, 'python/train.py'), handEdit);
    writeFileSync(join(dir, 'README.md'), 'staged change\n');
    gitIn(dir, 'add', 'README.md');
    const before = await ledger.head();
    const error = await ledger.commitExperiment('exp-1', 'planner change', 'LORA_RANK 32 -> 48', TRAIN.replace('32', '48')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DirtyTreeError);
    expect((error as Error).message).toMatch(/README\.md \(staged\), python\/train\.py \(unstaged\)/);
    gitIn(dir, 'add', 'python/train.py');
    writeFileSync(join(dir, 'python/train.py'), `${handEdit}# more\n`);
    await expect(ledger.ensureClean()).rejects.toThrow(/python\/train\.py \(staged and unstaged\)/);
    expect(await ledger.head()).toBe(before);
    expect(readFileSync(join(dir, 'python/train.py'), 'utf8')).toBe(`${handEdit}# more\n`);
  });

  it('revert decides by commit id: a forged trailer line in the message can neither stop nor redirect it', async () => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    await ledger.ensureBranch();
    const champion = await ledger.head();
    // A commit as an earlier version wrote it: the hypothesis paragraph carries a trailer-shaped line first.
    writeFileSync(join(dir, 'python/train.py'), TRAIN.replace('32', '8'));
    gitIn(dir, 'commit', '-q', '-am', 'experiment exp-real: x\n\nAutoresearch-Experiment: exp-other\n\nChanges: LORA_RANK 32 -> 8\n\nAutoresearch-Experiment: exp-real');
    const commit = gitIn(dir, 'rev-parse', 'HEAD').trim();
    gitIn(dir, 'update-ref', `${EXPERIMENT_REF_PREFIX}exp-real`, commit);
    expect(await ledger.headExperiment()).toEqual({ experimentId: 'exp-real', commit, parent: champion });
    expect(await ledger.revert('exp-other', null)).toBe(false);
    expect(await ledger.head()).toBe(commit);
    expect(await ledger.revert('exp-real', commit)).toBe(true);
    expect(await ledger.head()).toBe(champion);
    expect(readFileSync(join(dir, 'python/train.py'), 'utf8')).toBe(TRAIN);
  });

  it.each([
    ['a trailer-shaped line', 'raise rank\nAutoresearch-Experiment: exp-other', /trailer-shaped line "Autoresearch-Experiment:"/],
    ['a NUL byte', 'raise rank\u0000 now', /control character U\+0000/],
    ['a lone surrogate', 'raise rank \ud800 now', /lone surrogate/],
    ['an escape sequence', 'raise rank \u001b[31m now', /control character U\+001B/],
  ])('refuses a hypothesis with %s before writing anything', async (_what, hypothesis, message) => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    const before = await ledger.head();
    const error = await ledger.commitExperiment('exp-1', hypothesis, 'LORA_RANK 32 -> 48', TRAIN.replace('32', '48')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerInputError);
    expect((error as Error).message).toMatch(message);
    expect(await ledger.head()).toBe(before);
    expect(readFileSync(join(dir, 'python/train.py'), 'utf8')).toBe(TRAIN);
    expect(gitIn(dir, 'status', '--porcelain')).toBe('');
    expect(await ledger.experimentRef('exp-1')).toBeNull();
  });

  it('a commit that fails part-way puts train.py and the index back at HEAD and leaves no ref', async () => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    const before = await ledger.head();
    // An id whose ref already exists: update-ref refuses after train.py was written and staged.
    gitIn(dir, 'update-ref', `${EXPERIMENT_REF_PREFIX}exp-dup`, before);
    await expect(ledger.commitExperiment('exp-dup', 'rank 48', 'LORA_RANK 32 -> 48', TRAIN.replace('32', '48'))).rejects.toThrow(
      /could not commit experiment exp-dup: .*python\/train\.py and the index are back at HEAD/s,
    );
    expect(await ledger.head()).toBe(before);
    expect(readFileSync(join(dir, 'python/train.py'), 'utf8')).toBe(TRAIN);
    expect(gitIn(dir, 'status', '--porcelain')).toBe('');
    expect(gitIn(dir, 'rev-parse', `${EXPERIMENT_REF_PREFIX}exp-dup`).trim()).toBe(before);
    // The same ledger then commits normally: the failure left nothing behind that blocks it.
    const c = await ledger.commitExperiment('exp-ok', 'rank 48', 'LORA_RANK 32 -> 48', TRAIN.replace('32', '48'));
    expect(await ledger.headExperiment()).toEqual(c);
  });

  it('repairs the ref of a HEAD commit left by a crash between commit and update-ref, trusting only the trailer block', async () => {
    const dir = repo();
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    await ledger.ensureBranch();
    const champion = await ledger.head();
    writeFileSync(join(dir, 'python/train.py'), TRAIN.replace('32', '16'));
    gitIn(dir, 'commit', '-q', '-am', 'experiment exp-crash: x\n\nrank 16\n\nChanges: LORA_RANK 32 -> 16\n\nAutoresearch-Experiment: exp-crash');
    const commit = gitIn(dir, 'rev-parse', 'HEAD').trim();
    expect(await ledger.headExperiment()).toBeNull();
    expect(await ledger.repairHeadRef()).toEqual({ experimentId: 'exp-crash', commit, parent: champion });
    expect(gitIn(dir, 'rev-parse', `${EXPERIMENT_REF_PREFIX}exp-crash`).trim()).toBe(commit);
    expect(await ledger.repairHeadRef()).toBeNull();
    expect(await ledger.revert('exp-crash', commit)).toBe(true);
    expect(gitIn(dir, 'show', '--format=', `${EXPERIMENT_REF_PREFIX}exp-crash`)).toContain('+LORA_RANK = 16');
    // A trailer-shaped line above the last paragraph is prose to git's trailer parser: nothing to repair.
    writeFileSync(join(dir, 'python/train.py'), TRAIN.replace('32', '24'));
    gitIn(dir, 'commit', '-q', '-am', 'hand edit\n\nAutoresearch-Experiment: exp-forged\n\nrank 24 by hand');
    expect(await ledger.repairHeadRef()).toBeNull();
    expect(await ledger.experimentRef('exp-forged')).toBeNull();
  });

  it('refuses a path that is not a repository', async () => {
    await expect(GitLedger.open('/', 'x')).rejects.toThrow(/not a git repository/);
  });
});
