import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { memoryEventFileName } from '../../src/research/memory.js';
import { runLoop } from '../../src/research/loop.js';
import type { RunSummary } from '../../src/research/run-lifecycle.js';
import { readResults } from '../../src/research/results-file.js';
import type { ResultRow } from '../../src/research/results-format.js';
import { until } from '../support/fleet-harness.js';
import { startNight, type Night } from '../support/night-harness.js';
import { gitIn } from '../support/temp-repo.js';

const TIMING = { fullMs: 2_400, proxyMs: 1_200, evalMs: 500 };
const never = new AbortController().signal;
// A deadline far enough that the next experiment of a mode may be queued behind one training: its worst case
// is two trainings with the default budgets (30 min and grace for the full mode) plus the evaluation allowance.
const later = () => new Date(Date.now() + 24 * 3600_000);
const nights: Night[] = [];
afterEach(async () => {
  while (nights.length) await nights.pop()!.close();
});

async function night(passRate?: { full?: number; proxy?: number }, timing = TIMING): Promise<Night> {
  const n = await startNight({ redisUrl: inject('redisUrl'), timing, maxInFlight: 'auto', label: 'concurrent', ...(passRate ? { passRate } : {}) });
  nights.push(n);
  await n.start('mini');
  await n.start('mbp');
  return n;
}

/** The most experiments (not baselines) the executor held in flight at once, sampled while `work` runs. */
async function peakInFlight<T>(n: Night, work: Promise<T>): Promise<{ result: T; peak: number; modes: Set<string> }> {
  let peak = 0;
  const modes = new Set<string>();
  let over = false;
  const sampler = (async () => {
    while (!over) {
      const pending = (await n.executor.pending()).filter((p) => p.kind === 'experiment');
      if (pending.length >= 2) for (const p of pending) modes.add(p.mode);
      peak = Math.max(peak, pending.length);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await work.finally(() => (over = true));
  await sampler;
  return { result, peak, modes };
}

/**
 * What must hold after any night: each experiment has one row, one memory event and one ref; each was judged
 * against the champion of its mode as results.tsv stood when it was decided; each line ends at its mode's
 * champion commit (or where it forked), and nothing is left in flight.
 */
async function expectExactlyOnce(n: Night): Promise<ResultRow[]> {
  const rows = readResults(n.deps.resultsPath).rows;
  // Nothing here may fail: a crash row means an experiment was lost or decided on a broken execution.
  const failures = Object.values(n.workers).flatMap((w) => w!.output().split('\n').filter((l) => /"level":(40|50)/.test(l)));
  expect(rows.filter((r) => r.result === 'crash').map((r) => [r.experimentId, r.reasons]), failures.join('\n').slice(-4000)).toEqual([]);
  const ids = rows.map((r) => r.experimentId);
  expect(new Set(ids).size).toBe(ids.length);
  const events = readdirSync(n.deps.memoryEventsDir);
  for (const row of rows) {
    if (row.result === 'base') continue;
    expect(events.filter((f) => f === memoryEventFileName(row.experimentId))).toHaveLength(1);
    if (row.commit) expect(gitIn(n.repo, 'rev-parse', `refs/autoresearch/experiments/${row.experimentId}`).trim()).toBe(row.commit);
  }
  expect(gitIn(n.repo, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/experiments/').trim().split('\n').filter(Boolean).length).toBe(rows.filter((r) => r.commit && r.result !== 'base').length);
  rows.forEach((row, i) => {
    if (row.result === 'base' || row.result === 'invalid' || !row.mode) return;
    const before = rows.slice(0, i).filter((r) => r.mode === row.mode && (r.result === 'base' || r.result === 'keep'));
    const champion = before.at(-1)!;
    const event = readFileSync(`${n.deps.memoryEventsDir}/${memoryEventFileName(row.experimentId)}`, 'utf8');
    if (row.score !== null) expect(event).toContain(`experiment_id: ${champion.experimentId}`);
  });
  const fork = gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night').trim();
  for (const mode of ['full', 'proxy'] as const) {
    // The line holds its champion's section: the kept commit itself, or (kept while queued beside another experiment
    // that was kept first) a commit on top of that one with the same train.py and an Autoresearch-Adopted trailer.
    const kept = rows.filter((r) => r.mode === mode && r.result === 'keep').at(-1);
    const tip = gitIn(n.repo, 'rev-parse', `refs/heads/autoresearch/night-${mode}`).trim();
    if (tip !== (kept?.commit ?? fork)) {
      expect(kept, `${mode} line moved without a keep`).toBeDefined();
      expect(gitIn(n.repo, 'log', '-1', '--format=%(trailers:key=Autoresearch-Adopted,valueonly)', tip).trim()).toBe(kept!.experimentId);
      expect(gitIn(n.repo, 'rev-parse', `${tip}:python/train.py`)).toBe(gitIn(n.repo, 'rev-parse', `${kept!.commit}:python/train.py`));
    }
  }
  expect(await n.executor.pending()).toEqual([]);
  return rows;
}

describe('several experiments in flight across two worker processes', () => {
  it('the laptop trains full-mode experiments while the Mini trains proxy ones and evaluates both; each mode keeps its own line', async () => {
    const n = await night();
    const { result: summary, peak, modes } = await peakInFlight(n, runLoop(n.deps, { maxExperiments: 4, deadline: later(), mode: 'auto', signal: never }));
    expect(summary.stoppedBecause).toBe('reached 4 experiments');
    expect(peak).toBeGreaterThanOrEqual(2);
    expect([...modes].sort()).toEqual(['full', 'proxy']);
    const rows = await expectExactlyOnce(n);
    expect(rows.filter((r) => r.result === 'base').map((r) => r.mode).sort()).toEqual(['full', 'proxy']);
    const experiments = rows.filter((r) => r.result !== 'base');
    expect(experiments).toHaveLength(4);
    expect(new Set(experiments.map((r) => r.mode))).toEqual(new Set(['full', 'proxy']));
    // The full-mode ones were trained on the laptop, the proxy ones on the Mini.
    for (const row of experiments) {
      const training = JSON.parse(readFileSync(`${n.deps.artifacts.logs}/${row.experimentId}/training.json`, 'utf8')) as { machine: string };
      expect(training.machine).toBe(row.mode === 'full' ? 'mbp' : 'mini');
    }
    // The work tree never left run.branch, and stays clean.
    expect(gitIn(n.repo, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('autoresearch/night');
    expect(await n.deps.ledger.dirtyFiles()).toEqual([]);
  });

  it('a keep in proxy mode while a full-mode experiment trains: the full ones are judged against their own champion and reverted alone, the proxy line holds its champion', async () => {
    // Trained proxy adapters pass clearly more cases than the base model, trained full ones clearly fewer.
    const n = await night({ proxy: 0.9, full: 0.3 });
    const summary = await runLoop(n.deps, { maxExperiments: 4, deadline: later(), mode: 'auto', signal: never });
    expect(summary.stoppedBecause).toBe('reached 4 experiments');
    const rows = await expectExactlyOnce(n);
    const experiments = rows.filter((r) => r.result !== 'base');
    const full = experiments.filter((r) => r.mode === 'full');
    const proxy = experiments.filter((r) => r.mode === 'proxy');
    expect(full).toHaveLength(2);
    expect(proxy).toHaveLength(2);
    const decisions = JSON.stringify(rows.map((r) => [r.experimentId, r.mode, r.result, r.reasons]));
    expect(proxy[0]!.result, decisions).toBe('keep');
    for (const row of full) expect(row.result).toMatch(/^veto-|^revert$/);
    // The second proxy experiment was built on the proxy champion when it was proposed: the fork while the first was
    // still in flight (queued behind it), or the kept one.
    const fork = gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night').trim();
    expect([fork, proxy[0]!.commit]).toContain(gitIn(n.repo, 'rev-parse', `${proxy[1]!.commit}^`).trim());
    // The full experiments started from the fork, never from the proxy line, and their reverts left the proxy line alone.
    for (const row of full) expect(gitIn(n.repo, 'rev-parse', `${row.commit}^`).trim()).toBe(fork);
    expect(gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night-full').trim()).toBe(fork);
    expect(gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night-proxy').trim()).not.toBe(fork);
  });

  it('an experiment committed beside another of its mode but never submitted (the planner died in between) becomes one crash row and moves no line', async () => {
    const n = await night();
    await n.deps.ledger.ensureBranch();
    await n.deps.ledger.ensureLines();
    const fork = gitIn(n.repo, 'rev-parse', 'HEAD').trim();
    const stray = await n.deps.ledger.commitBeside('full', fork, 'exp-beside', 'never submitted', 'Changes: none', await n.deps.ledger.trainPyAt(fork));
    expect(gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night-full').trim()).toBe(fork);
    const summary = await runLoop(n.deps, { maxExperiments: 1, deadline: new Date(Date.now() - 1_000), mode: 'auto', signal: never });
    expect(summary.rows.map((r) => [r.experimentId, r.result, r.commit])).toEqual([['exp-beside', 'crash', stray.commit]]);
    for (const mode of ['full', 'proxy']) expect(gitIn(n.repo, 'rev-parse', `refs/heads/autoresearch/night-${mode}`).trim()).toBe(fork);
    expect(readdirSync(n.deps.memoryEventsDir)).toEqual([memoryEventFileName('exp-beside')]);
    expect((await runLoop(n.deps, { maxExperiments: 1, deadline: new Date(Date.now() - 1_000), mode: 'auto', signal: never })).rows).toEqual([]);
  });

  it('an experiment committed on a line but never submitted (the planner died in between) becomes one crash row, and only that line is reverted', async () => {
    const n = await night();
    await n.deps.ledger.ensureBranch();
    await n.deps.ledger.ensureLines();
    const fork = gitIn(n.repo, 'rev-parse', 'HEAD').trim();
    const orphan = await n.deps.ledger.line('proxy').commitExperiment('exp-orphan', 'never submitted', 'Changes: none', await n.deps.ledger.trainPyAt(fork));
    // A deadline already past: the run only reconciles.
    const summary = await runLoop(n.deps, { maxExperiments: 1, deadline: new Date(Date.now() - 1_000), mode: 'auto', signal: never });
    expect(summary.rows.map((r) => [r.experimentId, r.result, r.commit])).toEqual([['exp-orphan', 'crash', orphan.commit]]);
    expect(gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night-proxy').trim()).toBe(fork);
    expect(gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night-full').trim()).toBe(fork);
    expect(gitIn(n.repo, 'rev-parse', 'refs/autoresearch/experiments/exp-orphan').trim()).toBe(orphan.commit);
    expect(readdirSync(n.deps.memoryEventsDir)).toEqual([memoryEventFileName('exp-orphan')]);
    // A second run finds nothing more to record.
    expect((await runLoop(n.deps, { maxExperiments: 1, deadline: new Date(Date.now() - 1_000), mode: 'auto', signal: never })).rows).toEqual([]);
  });

  it('a planner restart with two experiments in flight resumes both and applies each decision once', async () => {
    const n = await night();
    const stop = new AbortController();
    const first = runLoop(n.deps, { maxExperiments: 2, deadline: later(), mode: 'auto', signal: stop.signal });
    await until('two experiments in flight', async () => (await n.executor.pending()).filter((p) => p.kind === 'experiment').length === 2, 60_000);
    stop.abort(new Error('SIGTERM'));
    const interrupted: RunSummary = await first;
    expect(interrupted.abandoned).not.toBeNull();
    const left = (await n.executor.pending()).map((p) => p.experimentId).sort();
    expect(left).toHaveLength(2);
    expect(readResults(n.deps.resultsPath).rows.filter((r) => left.includes(r.experimentId))).toEqual([]);

    const resumed = await runLoop(n.deps, { maxExperiments: 0 + 1, deadline: later(), mode: 'auto', signal: never });
    expect(resumed.abandoned).toBeNull();
    const rows = await expectExactlyOnce(n);
    for (const id of left) expect(rows.filter((r) => r.experimentId === id)).toHaveLength(1);
    // A third run finds nothing left to apply and records nothing twice.
    const again = await runLoop(n.deps, { maxExperiments: 1, deadline: new Date(Date.now() + 1_000), mode: 'auto', signal: never });
    expect(again.rows).toEqual([]);
    await expectExactlyOnce(n);
  });

  it('a planner restart with an experiment queued behind another of its mode: both resumed, decided in submission order, each once', async () => {
    // Trainings long enough that the next full-mode experiment is proposed while the first still trains.
    const n = await startNight({ redisUrl: inject('redisUrl'), timing: { fullMs: 8_000, proxyMs: 4_000, evalMs: 500 }, maxInFlight: 'auto', label: 'queued' });
    nights.push(n);
    await n.start('mini');
    await n.start('mbp');
    const stop = new AbortController();
    const first = runLoop(n.deps, { maxExperiments: 3, deadline: later(), mode: 'auto', signal: stop.signal });
    const fullPending = async () => (await n.executor.pending()).filter((p) => p.kind === 'experiment' && p.mode === 'full');
    await until('a full-mode experiment queued behind another', async () => (await fullPending()).length === 2, 90_000);
    stop.abort(new Error('SIGTERM'));
    expect((await first).abandoned).not.toBeNull();
    const [older, queued] = (await fullPending()).map((p) => p.experimentId).sort();
    // The queued one was committed beside the one training: its ref, built on the same champion, the line untouched.
    const olderCommit = gitIn(n.repo, 'rev-parse', `refs/autoresearch/experiments/${older}`).trim();
    const queuedCommit = gitIn(n.repo, 'rev-parse', `refs/autoresearch/experiments/${queued}`).trim();
    expect(gitIn(n.repo, 'rev-parse', `${queuedCommit}^`).trim()).toBe(gitIn(n.repo, 'rev-parse', `${olderCommit}^`).trim());
    expect(gitIn(n.repo, 'rev-parse', 'refs/heads/autoresearch/night-full').trim()).toBe(olderCommit);

    const resumed = await runLoop(n.deps, { maxExperiments: 1, deadline: later(), mode: 'auto', signal: never });
    expect(resumed.abandoned).toBeNull();
    const rows = await expectExactlyOnce(n);
    const order = rows.map((r) => r.experimentId);
    expect(order.indexOf(older!)).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(older!)).toBeLessThan(order.indexOf(queued!));
    expect((await runLoop(n.deps, { maxExperiments: 1, deadline: new Date(Date.now() + 1_000), mode: 'auto', signal: never })).rows).toEqual([]);
    await expectExactlyOnce(n);
  });

  it.each(['mbp', 'mini'] as const)('kill -9 of the %s worker with two experiments in flight: it restarts, both finish, each recorded once', async (victim) => {
    // A full-mode training long enough to still run while the Mini trains the proxy one, however slow the planner is.
    const n = await night(undefined, { fullMs: 10_000, proxyMs: 2_000, evalMs: 500 });
    const run = runLoop(n.deps, { maxExperiments: 2, deadline: later(), mode: 'auto', signal: never });
    await until('two experiments training', async () => {
      const pending = (await n.executor.pending()).filter((p) => p.kind === 'experiment');
      return pending.length === 2 && existsSync(`${n.root}/${victim}/runs`) && readdirSync(`${n.root}/${victim}/runs`).some((d) => d.includes('-train-'));
    }, 60_000);
    process.kill(n.workers[victim]!.pid, 'SIGKILL');
    await n.workers[victim]!.child;
    await n.start(victim);
    const summary = await run;
    expect(summary.stoppedBecause).toBe('reached 2 experiments');
    const rows = await expectExactlyOnce(n);
    expect(rows.filter((r) => r.result !== 'base')).toHaveLength(2);
  });
});
