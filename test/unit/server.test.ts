import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../../src/research/results-format.js';
import { isLoopbackHost, presentedSecret, secretMatches } from '../../src/server/auth.js';
import { renderChart, yRange } from '../../src/server/dashboard/chart.js';
import { escapeHtml, fmtDelta, html } from '../../src/server/dashboard/html.js';
import { buildResultsView, outcomeOf } from '../../src/server/dashboard/view-model.js';
import { machinesFromPresence, progressOf } from '../../src/server/status-view.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('auth', () => {
  it.each([
    [undefined, null],
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    [`Basic ${b64('me:s3cret:with:colons')}`, 's3cret:with:colons'],
    [`Basic ${b64('nocolon')}`, null],
    ['Digest x', null],
    ['Bearer', null],
  ])('presented secret of %s', (header, expected) => {
    expect(presentedSecret(header)).toBe(expected);
  });

  it.each([
    ['token', 'token', true],
    ['token', 'tokenx', false],
    ['toke', 'token', false],
    ['', 'token', false],
    [null, 'token', false],
  ])('%s against %s', (presented, expected, ok) => {
    expect(secretMatches(presented, expected)).toBe(ok);
  });

  it.each([
    ['127.0.0.1', true],
    ['localhost', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['192.168.1.20', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('html', () => {
  it('escapes every interpolation, nested arrays included, and keeps SafeHtml', () => {
    const evil = `<script>alert("x")</script>&'`;
    const out = html`<p title="${evil}">${[evil, html`<b>${evil}</b>`]}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).toContain(`<b>${escapeHtml(evil)}</b>`);
    expect(out).toContain('title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"');
  });

  it.each([
    [0.0123, '+0.012'],
    [-0.0123, '−0.012'],
    [0.0001, '±0.000'],
    [null, ''],
  ])('formats the delta %s', (x, s) => {
    expect(fmtDelta(x)).toBe(s);
  });
});

const row = (id: string, result: ResultRow['result'], score: number | null, extra: Partial<ResultRow> = {}): ResultRow => ({
  experimentId: id,
  result,
  score,
  jailbreak: score,
  agents: { a: score, b: score },
  mode: 'proxy',
  model: 'org/model-9B',
  commit: null,
  hypothesis: '',
  parameters: null,
  trainLoss: null,
  valLoss: null,
  trainSeconds: null,
  evalSeconds: null,
  wins: null,
  losses: null,
  p: null,
  reasons: [],
  adapterSha256: null,
  timestamp: '2026-01-01T00:00:00Z',
  holdout: null,
  proposer: null,
  ...extra,
});

describe('results view', () => {
  it.each([
    ['base', 'baseline'],
    ['keep', 'kept'],
    ['revert', 'reverted'],
    ['veto-jailbreak', 'vetoed'],
    ['veto-regression', 'vetoed'],
    ['crash', 'failed'],
    ['invalid', 'failed'],
    ['timeout', 'failed'],
  ] as const)('%s is drawn as %s', (result, outcome) => {
    expect(outcomeOf(result)).toBe(outcome);
  });

  it('judges deltas against the champion of the same mode and model, and steps the running best per group', () => {
    const view = buildResultsView(['a', 'b'], [
      row('base', 'base', 0.6),
      row('e1', 'revert', 0.55),
      row('e2', 'keep', 0.7),
      row('full-base', 'base', 0.8, { mode: 'full', model: 'org/model-27B' }),
      row('e3', 'crash', null),
      row('e4', 'veto-jailbreak', 0.72),
    ]);
    expect(view.experiments.map((e) => [e.row.experimentId, e.championIndex, e.scoreDelta === null ? null : Number(e.scoreDelta.toFixed(3))])).toEqual([
      ['base', null, null],
      ['e1', 1, -0.05],
      ['e2', 1, 0.1],
      ['full-base', null, null],
      ['e3', 3, null],
      ['e4', 3, 0.02],
    ]);
    expect(view.best).toEqual([
      { group: 'proxy · model-9B', points: [{ index: 1, score: 0.6 }, { index: 3, score: 0.7 }] },
      { group: 'full · model-27B', points: [{ index: 4, score: 0.8 }] },
    ]);
    expect(view.counts).toEqual({ baseline: 2, kept: 1, reverted: 1, vetoed: 1, failed: 1 });
  });

  it('carries the holdout delta against the champion, null where either row has no holdout', () => {
    const view = buildResultsView(['a', 'b'], [
      row('old-base', 'base', 0.6),
      row('e1', 'keep', 0.7, { holdout: 0.5 }),
      row('e2', 'revert', 0.72, { holdout: 0.45 }),
    ]);
    expect(view.experiments.map((e) => (e.holdoutDelta === null ? null : Number(e.holdoutDelta.toFixed(3))))).toEqual([null, null, -0.05]);
  });
});

describe('charts', () => {
  it.each([
    [[], [0, 1]],
    [[0.6, 0.62], [0.55, 0.65]],
    [[0.98, 1], [0.9, 1]],
    [[0.1, 0.9], [0, 1]],
  ])('y range of %j', (values, range) => {
    const [lo, hi] = yRange(values);
    expect([Number(lo.toFixed(2)), Number(hi.toFixed(2))]).toEqual(range);
  });

  it('escapes tooltips and labels', () => {
    const svg = renderChart({ id: 'c', title: 't<', xMax: 3, points: [{ x: 1, y: 0.5, cls: 'o-kept', tip: '<img onerror=x>' }], lines: [] }).value;
    expect(svg).toContain('&lt;img onerror=x&gt;');
    expect(svg).not.toContain('<img');
  });
});

describe('status', () => {
  const beat = (machine: string, pid: number, startedAt: string, busy = false) => ({
    machine,
    role: machine,
    consumes: [],
    version: '0.1.0',
    pid,
    startedAt,
    updatedAt: startedAt,
    busy: busy ? { queue: 'eval', jobId: 'j', experimentId: 'e', since: startedAt, progress: null } : null,
  });

  it('groups live workers by machine and lists machines only last seen as away', () => {
    const machines = machinesFromPresence({
      live: [beat('mini', 2, '2026-01-01T02:00:00Z'), beat('mini', 1, '2026-01-01T01:00:00Z', true)],
      lastSeen: { mini: { role: 'mini', at: '2026-01-01T03:00:00Z' }, mbp: { role: 'mbp', at: '2026-01-01T00:30:00Z' } },
    });
    expect(machines.map((m) => [m.machine, m.online, m.since, m.processes, m.busy?.queue ?? null])).toEqual([
      ['mini', true, '2026-01-01T01:00:00Z', 2, 'eval'],
      ['mbp', false, '2026-01-01T00:30:00Z', 0, null],
    ]);
  });

  it.each([
    [{ stage: 'train', iteration: 30, iters: 120, trainLoss: 1.5, etaSeconds: 61 }, 0.25, 'iteration 30/120 · train · loss 1.500 · ETA 2 min'],
    [{ stage: 'eval', done: 33, total: 66 }, 0.5, 'cases 33/66 · eval'],
    [42, 0.42, '42%'],
    [{ unknown: true }, null, null],
    [null, null, null],
  ])('progress %j', (progress, fraction, label) => {
    const p = progressOf(progress);
    expect(p?.fraction ?? null).toBe(fraction);
    expect(p?.label ?? null).toBe(label);
  });
});
