import { describe, expect, it } from 'vitest';
import {
  championRow,
  escapeField,
  formatRow,
  header,
  legacyHeader,
  parseResults,
  unescapeField,
  type ResultRow,
} from '../../src/research/results-format.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];

function row(over: Partial<ResultRow> = {}): ResultRow {
  return {
    experimentId: 'exp-20261201-021500-ab12',
    result: 'keep',
    score: 0.851,
    jailbreak: 0.958,
    agents: { yoda: 0.9, jocasta: 0.917, windu: 0.85, quigon: 0.775, cilghal: 0.889, mundi: 0.775 },
    mode: 'proxy',
    model: 'tiny',
    commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    hypothesis: 'Raising LORA_RANK to 48 gives the adapter room for six personas.',
    parameters: { LORA_RANK: 48, LEARNING_RATE: 5e-6, PER_AGENT_WEIGHTS: { yoda: 1 } },
    trainLoss: 1.2345,
    valLoss: 1.5,
    trainSeconds: 61.2,
    evalSeconds: 30,
    wins: 5,
    losses: 1,
    p: 0.0625,
    reasons: ['jailbreak-veto (Windu): pass: ok', 'promotion (Yoda): pass: overall 0.832 -> 0.851'],
    adapterSha256: 'f'.repeat(64),
    timestamp: '2026-12-01T02:15:00.000Z',
    holdout: 0.8125,
    proposer: 'claude',
    ...over,
  };
}

const file = (...rows: ResultRow[]) => [header(AGENTS).join('\t'), ...rows.map((r) => formatRow(r, AGENTS))].join('\n') + '\n';

describe('results.tsv format', () => {
  it('starts with the seed columns in the seed order, then the agents, then the extras', () => {
    expect(header(AGENTS).slice(0, 10)).toEqual(['experiment_id', 'score', 'result', 'jailbreak', ...AGENTS]);
    expect(header(AGENTS)).toContain('reasons');
  });

  const hostile = [
    'tab\there',
    'new\nline and \r\n CRLF',
    'back\\slash \\t not a tab \\n not a newline',
    `"double" 'single' """triple""" '''triple'''`,
    'trailing backslash \\',
    '\u00e9\u00e8 \u{1F916} unicode',
    '',
  ];
  for (const text of hostile) {
    it(`round-trips a hostile hypothesis: ${JSON.stringify(text).slice(0, 40)}`, () => {
      expect(unescapeField(escapeField(text))).toBe(text);
      const line = formatRow(row({ hypothesis: text }), AGENTS);
      expect(line).not.toContain('\n');
      expect(line.split('\t')).toHaveLength(header(AGENTS).length);
      const parsed = parseResults(file(row({ hypothesis: text })));
      expect(parsed.corrupt).toEqual([]);
      expect(parsed.rows[0]!.hypothesis).toBe(text);
    });
  }

  it('round-trips every field of a full row and of an empty (invalid) row', () => {
    const empty = row({
      experimentId: 'exp-2',
      result: 'invalid',
      score: null,
      jailbreak: null,
      agents: Object.fromEntries(AGENTS.map((a) => [a, null])),
      mode: null,
      model: null,
      commit: null,
      parameters: null,
      trainLoss: null,
      valLoss: null,
      trainSeconds: null,
      evalSeconds: null,
      wins: null,
      losses: null,
      p: null,
      reasons: ['LORA_RANK: expected at most 64, got 512'],
      adapterSha256: null,
    });
    const parsed = parseResults(file(row(), empty));
    expect(parsed.agents).toEqual(AGENTS);
    expect(parsed.rows).toEqual([row(), empty]);
  });

  const corruptCases: Array<{ name: string; line: string; reason: RegExp }> = [
    { name: 'too few fields', line: 'exp-x\t0.5\tkeep', reason: /expected 27 tab-separated fields, found 3/ },
    { name: 'unknown result', line: formatRow(row(), AGENTS).replace('\tkeep\t', '\tmaybe\t'), reason: /result/ },
    { name: 'score out of range', line: formatRow(row({ score: 0.5 }), AGENTS).replace('\t0.5\t', '\t1.5\t'), reason: /score/ },
    { name: 'agent score not a number', line: formatRow(row(), AGENTS).replace('\t0.917\t', '\tabc\t'), reason: /jocasta/ },
    { name: 'stray escape', line: formatRow(row({ hypothesis: 'x' }), AGENTS).replace('\tx\t', '\tbad\\q\t'), reason: /hypothesis.*backslash/ },
    { name: 'parameters not JSON', line: formatRow(row(), AGENTS).replace(/\t\{[^\t]*\}\t/, '\t{oops\t'), reason: /parameters/ },
  ];
  for (const c of corruptCases) {
    it(`reports a corrupt line by number: ${c.name}`, () => {
      const text = [header(AGENTS).join('\t'), formatRow(row({ experimentId: 'a' }), AGENTS), c.line, formatRow(row({ experimentId: 'b' }), AGENTS)].join('\n');
      const parsed = parseResults(text);
      expect(parsed.rows.map((r) => r.experimentId)).toEqual(['a', 'b']);
      expect(parsed.corrupt).toHaveLength(1);
      expect(parsed.corrupt[0]!.line).toBe(3);
      expect(parsed.corrupt[0]!.reason).toMatch(c.reason);
    });
  }

  it('reads a round-1 file without the holdout and proposer columns, leaving both empty', () => {
    const legacyLine = formatRow(row(), AGENTS).split('\t').slice(0, legacyHeader(AGENTS).length).join('\t');
    const parsed = parseResults(`${legacyHeader(AGENTS).join('\t')}\n${legacyLine}\n`);
    expect(parsed.corrupt).toEqual([]);
    expect(parsed.rows[0]).toEqual({ ...row(), holdout: null, proposer: null });
  });

  it('rejects a file whose header is not results.tsv', () => {
    expect(() => parseResults('id\tscore\n')).toThrow(/header/);
  });
});

describe('championRow', () => {
  const rows = [
    row({ experimentId: 'base-proxy', result: 'base', mode: 'proxy', model: 'tiny' }),
    row({ experimentId: 'base-full', result: 'base', mode: 'full', model: 'big' }),
    row({ experimentId: 'keep-proxy', result: 'keep', mode: 'proxy', model: 'tiny' }),
    row({ experimentId: 'revert-proxy', result: 'revert', mode: 'proxy', model: 'tiny' }),
    row({ experimentId: 'keep-proxy-other-model', result: 'keep', mode: 'proxy', model: 'other' }),
    row({ experimentId: 'veto-full', result: 'veto-jailbreak', mode: 'full', model: 'big' }),
  ];
  const table: Array<[mode: 'full' | 'proxy', model: string, expected: string | null]> = [
    ['proxy', 'tiny', 'keep-proxy'],
    ['full', 'big', 'base-full'],
    ['proxy', 'other', 'keep-proxy-other-model'],
    ['full', 'tiny', null],
  ];
  for (const [mode, model, expected] of table) {
    it(`${mode}/${model} -> ${expected}`, () => {
      expect(championRow(rows, mode, model)?.experimentId ?? null).toBe(expected);
    });
  }
});
