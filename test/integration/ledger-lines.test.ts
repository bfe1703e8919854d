import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitLedger, TRAIN_PY } from '../../src/research/ledger.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';

const SEED = 'LEARNING_RATE = 1e-4\nITERS = 100\n';

describe('a champion line per mode (several experiments in flight)', () => {
  const repos: string[] = [];
  afterEach(() => {
    while (repos.length) rmSync(repos.pop()!, { recursive: true, force: true });
  });

  async function open() {
    const repo = tempRepo({ [TRAIN_PY]: SEED });
    repos.push(repo);
    const ledger = await GitLedger.open(repo, 'autoresearch/test');
    await ledger.ensureBranch();
    const created = await ledger.ensureLines();
    return { repo, ledger, created, tip: (branch: string) => gitIn(repo, 'rev-parse', `refs/heads/${branch}`).trim() };
  }

  it('creates both lines at run.branch once, and never moves an existing one', async () => {
    const { ledger, created, tip } = await open();
    expect(created).toEqual(['autoresearch/test-full', 'autoresearch/test-proxy']);
    const start = tip('autoresearch/test');
    expect(tip('autoresearch/test-full')).toBe(start);
    await ledger.line('proxy').commitExperiment('exp-p1', 'lower rate', 'Changes: x', SEED.replace('1e-4', '5e-5'));
    expect(await ledger.ensureLines()).toEqual([]);
    expect(tip('autoresearch/test-proxy')).not.toBe(start);
  });

  it('commits on one line without touching the work tree, the index or the other line; each commit has its ref', async () => {
    const { repo, ledger, tip } = await open();
    const start = tip('autoresearch/test');
    const full = await ledger.line('full').commitExperiment('exp-f1', 'more iterations', 'Changes: ITERS 100 -> 200', SEED.replace('100', '200'));
    const proxy = await ledger.line('proxy').commitExperiment('exp-p1', 'lower rate', 'Changes: LEARNING_RATE', SEED.replace('1e-4', '5e-5'));
    expect(full.parent).toBe(start);
    expect(proxy.parent).toBe(start);
    expect(tip('autoresearch/test-full')).toBe(full.commit);
    expect(tip('autoresearch/test-proxy')).toBe(proxy.commit);
    expect(await ledger.experimentRef('exp-f1')).toBe(full.commit);
    expect(await ledger.experimentRef('exp-p1')).toBe(proxy.commit);
    expect(await ledger.trainPyAt(full.commit)).toBe(SEED.replace('100', '200'));
    expect(await ledger.trainPyAt(proxy.commit)).toBe(SEED.replace('1e-4', '5e-5'));
    // Only train.py changes, and the checked-out branch, its file and the index stay as they were.
    expect(gitIn(repo, 'diff', '--name-only', start, full.commit).trim()).toBe(TRAIN_PY);
    expect(await ledger.head()).toBe(start);
    expect(readFileSync(join(repo, TRAIN_PY), 'utf8')).toBe(SEED);
    expect(await ledger.dirtyFiles()).toEqual([]);
    expect(gitIn(repo, 'log', '-1', '--format=%B', full.commit)).toContain('Autoresearch-Experiment: exp-f1');
  });

  it('a keep in one mode while the other is in flight, then a revert of the other: each line moves alone', async () => {
    const { ledger, tip } = await open();
    const start = tip('autoresearch/test');
    const full = await ledger.line('full').commitExperiment('exp-f1', 'more iterations', 'Changes: ITERS', SEED.replace('100', '200'));
    const proxy = await ledger.line('proxy').commitExperiment('exp-p1', 'lower rate', 'Changes: LEARNING_RATE', SEED.replace('1e-4', '5e-5'));
    // exp-f1 kept: nothing to do in git; the proxy experiment is still in flight on its line.
    expect(await ledger.line('proxy').headExperiment()).toEqual({ experimentId: 'exp-p1', commit: proxy.commit, parent: start });
    expect(await ledger.revert('exp-p1', proxy.commit)).toBe(true);
    expect(tip('autoresearch/test-proxy')).toBe(start);
    expect(tip('autoresearch/test-full')).toBe(full.commit);
    expect(await ledger.head()).toBe(start);
    // Idempotent, and the reverted diff stays reachable through its ref.
    expect(await ledger.revert('exp-p1', proxy.commit)).toBe(false);
    expect(await ledger.experimentRef('exp-p1')).toBe(proxy.commit);
    // The next full experiment builds on the kept one.
    const next = await ledger.line('full').commitExperiment('exp-f2', 'even more', 'Changes: ITERS', SEED.replace('100', '300'));
    expect(next.parent).toBe(full.commit);
  });

  it('a revert is refused once the line no longer points at the experiment', async () => {
    const { repo, ledger, tip } = await open();
    const line = ledger.line('full');
    const first = await line.commitExperiment('exp-f1', 'one', 'Changes: a', SEED.replace('100', '200'));
    // Someone moved the branch by hand: the revert must not reset it to the experiment's parent.
    gitIn(repo, 'update-ref', 'refs/heads/autoresearch/test-full', tip('autoresearch/test'));
    expect(await ledger.revert('exp-f1', first.commit)).toBe(false);
    expect(tip('autoresearch/test-full')).toBe(tip('autoresearch/test'));
  });

  it('an experiment queued behind another of its mode is committed beside it: its ref only, the line untouched until a keep', async () => {
    const { repo, ledger, tip } = await open();
    const start = tip('autoresearch/test');
    const first = await ledger.line('full').commitExperiment('exp-f1', 'more iterations', 'Changes: ITERS', SEED.replace('100', '200'));
    const beside = await ledger.commitBeside('full', start, 'exp-f2', 'lower rate', 'Changes: LEARNING_RATE', SEED.replace('1e-4', '5e-5'));
    expect(beside.parent).toBe(start);
    expect(tip('autoresearch/test-full')).toBe(first.commit);
    expect(await ledger.experimentRef('exp-f2')).toBe(beside.commit);
    expect(await ledger.dirtyFiles()).toEqual([]);
    // Only a ref without a row, built on the line and not submitted, is a stray; an experiment the loop knows is not.
    expect((await ledger.strayExperiments('full', new Set(['exp-f1']))).map((c) => c.experimentId)).toEqual(['exp-f2']);
    expect(await ledger.strayExperiments('full', new Set(['exp-f1', 'exp-f2']))).toEqual([]);
    expect((await ledger.strayExperiments('proxy', new Set(['exp-f1']))).map((c) => c.experimentId)).toEqual(['exp-f2']);
    // The first one reverted, then the second kept: the line fast-forwards to the very commit that was trained.
    expect(await ledger.revert('exp-f1', first.commit)).toBe(true);
    expect(await ledger.adopt('full', 'exp-f2', beside.commit)).toBe(true);
    expect(tip('autoresearch/test-full')).toBe(beside.commit);
    expect(await ledger.adopt('full', 'exp-f2', beside.commit)).toBe(false);
    expect(gitIn(repo, 'rev-parse', 'refs/heads/autoresearch/test-proxy').trim()).toBe(start);
  });

  it('a keep of an experiment committed beside one that was kept first: its section goes on top, with an Autoresearch-Adopted trailer', async () => {
    const { repo, ledger, tip } = await open();
    const start = tip('autoresearch/test');
    const first = await ledger.line('proxy').commitExperiment('exp-p1', 'more iterations', 'Changes: ITERS', SEED.replace('100', '200'));
    const beside = await ledger.commitBeside('proxy', start, 'exp-p2', 'lower rate', 'Changes: LEARNING_RATE', SEED.replace('1e-4', '5e-5'));
    // exp-p1 kept (nothing moves), then exp-p2 kept against it.
    expect(await ledger.adopt('proxy', 'exp-p1', first.commit)).toBe(false);
    expect(await ledger.adopt('proxy', 'exp-p2', beside.commit)).toBe(true);
    const adopted = tip('autoresearch/test-proxy');
    expect(gitIn(repo, 'rev-parse', `${adopted}^`).trim()).toBe(first.commit);
    expect(await ledger.trainPyAt(adopted)).toBe(SEED.replace('1e-4', '5e-5'));
    expect(gitIn(repo, 'diff', '--name-only', first.commit, adopted).trim()).toBe(TRAIN_PY);
    expect(gitIn(repo, 'log', '-1', '--format=%(trailers:key=Autoresearch-Adopted,valueonly)', adopted).trim()).toBe('exp-p2');
    // Not an experiment of its own (no ref points at it), and a second keep of the same experiment (a restarted
    // planner deciding again) changes nothing.
    expect(await ledger.line('proxy').headExperiment()).toBeNull();
    expect(await ledger.adopt('proxy', 'exp-p2', beside.commit)).toBe(false);
    expect(tip('autoresearch/test-proxy')).toBe(adopted);
    // A later experiment on the line builds on it, and its revert goes back to it.
    const next = await ledger.line('proxy').commitExperiment('exp-p3', 'even more', 'Changes: ITERS', SEED.replace('100', '300'));
    expect(next.parent).toBe(adopted);
    expect(await ledger.revert('exp-p3', next.commit)).toBe(true);
    expect(tip('autoresearch/test-proxy')).toBe(adopted);
    expect(await ledger.head()).toBe(start);
  });
});
