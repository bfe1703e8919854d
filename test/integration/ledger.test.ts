import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirtyTreeError, EXPERIMENT_REF_PREFIX, GitLedger } from '../../src/research/ledger.js';
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
    expect(await ledger.revert('exp-2')).toBe(true);
    expect(await ledger.head()).toBe(kept.commit);
    expect(readFileSync(join(dir, 'python/train.py'), 'utf8')).toContain('LORA_RANK = 48');
    expect(gitIn(dir, 'show', `${EXPERIMENT_REF_PREFIX}exp-2`, '--format=')).toContain('+LORA_RANK = 64');
    expect(await ledger.revert('exp-2')).toBe(false);
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
    await ledger.revert('exp-same');
    expect(await ledger.head()).toBe(before);
  });

  it('refuses a dirty tree and names the files', async () => {
    const dir = repo();
    writeFileSync(join(dir, 'README.md'), 'changed\n');
    writeFileSync(join(dir, 'untracked.txt'), 'ignored: untracked files survive a reset\n');
    const ledger = await GitLedger.open(dir, 'autoresearch/test');
    await expect(ledger.ensureBranch()).rejects.toThrow(DirtyTreeError);
    await expect(ledger.ensureClean()).rejects.toThrow(/uncommitted changes in README\.md;/);
    await expect(ledger.commitExperiment('exp-1', 'h', 's', TRAIN)).rejects.toThrow(/README\.md/);
    expect(gitIn(dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
  });

  it('refuses a path that is not a repository', async () => {
    await expect(GitLedger.open('/', 'x')).rejects.toThrow(/not a git repository/);
  });
});
