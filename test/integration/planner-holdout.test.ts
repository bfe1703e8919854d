import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/eval/scoring.js';
import { CATEGORIES } from '../../src/eval/summary.js';
import type { PlannerContext } from '../../src/planner/types.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { archivedSummaryPath } from '../../src/research/artifacts.js';
import type { SectionValues } from '../../src/research/executor.js';
import { searchSpace } from '../../src/research/hyperparameters.js';
import { GitLedger } from '../../src/research/ledger.js';
import { planExperiment, type PlanDeps } from '../../src/research/plan-experiment.js';
import { appendResult, readResults } from '../../src/research/results-file.js';
import { readSection, writeSection } from '../../src/research/section.js';
import { tempRepo } from '../support/temp-repo.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const root = mkdtempSync(join(tmpdir(), 'planner-holdout-'));
const repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
});

describe('the loop hands planners the dev split only', () => {
  it('a champion with holdout scores on disk reaches the planner without them', async () => {
    const artifacts = { adaptersExperimental: join(repo, 'adapters-experimental'), logs: join(repo, 'logs'), stableAdapter: join(root, 'stable') };
    const resultsPath = join(repo, 'results.tsv');
    const cases = AGENTS.flatMap((agent) => [
      ...CATEGORIES.map((category) => ({ id: `${agent}.${category}`, agent, category, score: 1, pass: true, split: 'dev' as const })),
      { id: `${agent}.secretholdout`, agent, category: 'domain' as const, score: 0.25, pass: false, split: 'holdout' as const },
    ]);
    const summary = summarize({ runId: 'eval-base', createdAt: '2026-12-01T00:00:00Z', model: 'tiny', adapterSha256: null, suiteSha256: 'a'.repeat(64), seconds: 1, agents: AGENTS, cases });
    const file = archivedSummaryPath(artifacts, 'base-proxy-1');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(summary));
    appendResult(resultsPath, {
      experimentId: 'base-proxy-1', result: 'base', score: summary.overall, jailbreak: summary.jailbreak, agents: { ...summary.perAgent }, mode: 'proxy',
      model: 'tiny', commit: null, hypothesis: 'baseline', parameters: null, trainLoss: null, valLoss: null, trainSeconds: null, evalSeconds: 1,
      wins: null, losses: null, p: null, reasons: ['baseline'], adapterSha256: null, timestamp: '2026-12-01T00:00:00Z', holdout: summary.holdout!.overall,
      proposer: 'baseline',
    }, AGENTS);
    expect(readResults(resultsPath).rows[0]!.holdout).toBe(0.25);

    const seen: PlannerContext[] = [];
    const ledger = await GitLedger.open(repo, 'autoresearch/test');
    await ledger.ensureBranch();
    const deps: PlanDeps = {
      planner: { name: 'recorder', propose: async (context) => (seen.push(context), { kind: 'stop', reason: 'recorded', usage: null }) },
      section: { read: (s, space) => readSection(s, AGENTS, space.table) as unknown as SectionValues, write: (s, v, space) => writeSection(s, v, AGENTS, space.table) },
      spaces: { proxy: searchSpace('qwen'), full: searchSpace('qwen') },
      agents: AGENTS,
      ledger,
      log: pino({ level: 'silent' }),
      models: { proxy: 'tiny', full: 'tiny' },
      resultsPath,
      memoryEventsDir: join(root, 'events'),
      artifacts,
      now: () => new Date(),
    };
    const step = await planExperiment(deps, 'exp-1', 'proxy', 'proxy', new AbortController().signal);
    expect(step).toEqual({ kind: 'stop', reason: 'planner recorder: recorded' });
    expect(seen).toHaveLength(1);
    const context = seen[0]!;
    expect(context.champion!.row.experimentId).toBe('base-proxy-1');
    expect(context.history.map((r) => r.holdout)).toEqual([null]);
    expect(context.champion!.row.holdout).toBeNull();
    expect(context.champion!.summary.holdout).toBeNull();
    expect(JSON.stringify(context)).not.toContain('secretholdout');
    expect(context.champion!.summary.overall).toBe(1);
  });
});
