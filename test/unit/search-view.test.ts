import { describe, expect, it } from 'vitest';
import { searchSpace } from '../../src/research/hyperparameters.js';
import type { ParamSpec } from '../../src/planner/types.js';
import type { ResultKind, ResultRow } from '../../src/research/results-format.js';
import { buildSearchView, renderSearch } from '../../src/server/dashboard/search-view.js';

const AGENTS = ['yoda', 'windu'];
const SPACE = searchSpace('qwen');
const SPECS: ParamSpec[] = SPACE.table.parameters;
const section = (rank: number) => ({ LORA_RANK: rank, LEARNING_RATE: 1e-5, PER_AGENT_WEIGHTS: { yoda: 1.5, windu: 0.75 } });

function row(id: string, result: ResultKind, score: number | null, over: Partial<ResultRow> = {}): ResultRow {
  return {
    experimentId: id, result, score, jailbreak: score, agents: {}, mode: 'proxy', model: 'org/tiny', commit: null, hypothesis: '',
    parameters: section(16), trainLoss: null, valLoss: null, trainSeconds: null, evalSeconds: null, wins: null, losses: null, p: null,
    reasons: [], adapterSha256: null, timestamp: '2026-12-01T00:00:00Z', holdout: null, proposer: 'sampler', ...over,
  };
}

describe('the search on the dashboard', () => {
  it('plots each scored row once per parameter, per mode and model, with its outcome; skips rows without a score', () => {
    const rows = [
      row('base', 'base', 0.7, { proposer: 'baseline' }),
      row('e1', 'veto-regression', 0.75, { parameters: section(48) }),
      row('e2', 'crash', null),
      row('f1', 'keep', 0.8, { mode: 'full', model: 'org/big' }),
    ];
    const groups = buildSearchView(rows, () => SPECS, AGENTS);
    expect(groups.map((g) => g.group)).toEqual(['proxy · tiny', 'full · big']);
    const proxy = groups[0]!;
    expect(proxy.panels.map((p) => p.key)).toEqual([
      'NUM_LAYERS', 'LORA_RANK', 'LORA_ALPHA', 'DROPOUT', 'LEARNING_RATE', 'ITERS', 'GRAD_ACCUM', 'DATA_MIX_RATIO', 'PER_AGENT_WEIGHTS.yoda', 'PER_AGENT_WEIGHTS.windu',
    ]);
    const rank = proxy.panels.find((p) => p.key === 'LORA_RANK')!;
    expect(rank.points.map((p) => [p.value, p.score, p.outcome])).toEqual([[16, 0.7, 'baseline'], [48, 0.75, 'vetoed']]);
    expect(rank.points[1]!.tip).toBe('#2 e1 · veto-regression · sampler · LORA_RANK 48 · overall 0.750');
    expect(proxy.panels.find((p) => p.key === 'PER_AGENT_WEIGHTS.windu')!.points.map((p) => p.value)).toEqual([0.75, 0.75]);
    // A parameter the rows never set (an older section) has no points rather than a made-up baseline.
    expect(proxy.panels.find((p) => p.key === 'NUM_LAYERS')!.points).toEqual([]);
    expect(proxy.panels.find((p) => p.key === 'LEARNING_RATE')!.log).toBe(true);
  });

  it('marks vetoes as crosses, says when importance is missing, and escapes what the rows say', () => {
    const groups = buildSearchView([row('base', 'base', 0.7), row('<b>x</b>', 'veto-jailbreak', 0.6)], () => SPECS, AGENTS);
    const page = renderSearch(groups, new Map([['proxy · tiny', { note: 'not enough data yet (2 scored rows; at least 5 needed)' }]])).value;
    expect(page).toContain('importance: not enough data yet (2 scored rows; at least 5 needed)');
    // One cross per parameter the vetoed row sets: LORA_RANK, LEARNING_RATE and two agent weights.
    expect(page.match(/<g class="pt o-vetoed">/g)).toHaveLength(4);
    expect(page).not.toContain('<b>x</b>');
    expect(page).toContain('&lt;b&gt;x&lt;/b&gt;');
    const withImportance = renderSearch(groups, new Map([['proxy · tiny', { importances: { LORA_RANK: 0.75, LEARNING_RATE: 0.25 } }]])).value;
    expect(withImportance.match(/<tr data-param="([^"]+)"/g)).toEqual(['<tr data-param="LORA_RANK"', '<tr data-param="LEARNING_RATE"']);
    expect(withImportance).toContain('not varied yet: NUM_LAYERS, LORA_ALPHA');
    expect(renderSearch([], new Map()).value).toBe('');
  });
});
