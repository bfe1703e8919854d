import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendResult, readResults } from '../../src/research/results-file.js';
import { formatRow, header, legacyHeader, type ResultRow } from '../../src/research/results-format.js';

const AGENTS = ['yoda', 'windu'];
const dirs: string[] = [];
function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoresearch-results-'));
  dirs.push(dir);
  return join(dir, 'results.tsv');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const row = (id: string, hypothesis = 'h'): ResultRow => ({
  experimentId: id, result: 'revert', score: 0.5, jailbreak: 0.75, agents: { yoda: 0.5, windu: 0.5 }, mode: 'proxy', model: 'tiny',
  commit: 'abcdef1', hypothesis, parameters: { LORA_RANK: 8 }, trainLoss: 2, valLoss: 2.5, trainSeconds: 10, evalSeconds: 5,
  wins: 1, losses: 2, p: 1, reasons: ['promotion (Yoda): FAIL'], adapterSha256: null, timestamp: '2026-12-01T02:00:00.000Z',
  holdout: 0.45, proposer: 'sampler',
});

describe('results.tsv on disk', () => {
  it('creates the header, appends whole rows, and reads them back', () => {
    const path = file();
    appendResult(path, row('a', 'tab\tnewline\n"""quotes"""'), AGENTS);
    appendResult(path, row('b'), AGENTS);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).toHaveLength(4);
    expect(text.startsWith('experiment_id\tscore\tresult\tjailbreak\tyoda\twindu\tmode\t')).toBe(true);
    const parsed = readResults(path);
    expect(parsed.corrupt).toEqual([]);
    expect(parsed.rows.map((r) => r.hypothesis)).toEqual(['tab\tnewline\n"""quotes"""', 'h']);
  });

  it('reports a corrupt line by number and never rewrites the file', () => {
    const path = file();
    appendResult(path, row('a'), AGENTS);
    appendFileSync(path, 'garbage line\n');
    appendResult(path, row('b'), AGENTS);
    const before = readFileSync(path);
    const mtime = statSync(path).mtimeMs;
    const parsed = readResults(path);
    expect(parsed.corrupt).toEqual([{ line: 3, reason: 'expected 23 tab-separated fields, found 1' }]);
    expect(parsed.rows.map((r) => r.experimentId)).toEqual(['a', 'b']);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(mtime);
  });

  it('isolates a torn last line (a crash mid-write) instead of gluing the next row to it', () => {
    const path = file();
    appendResult(path, row('a'), AGENTS);
    appendFileSync(path, 'exp-torn\t0.5\tke');
    appendResult(path, row('b'), AGENTS);
    const parsed = readResults(path);
    expect(parsed.rows.map((r) => r.experimentId)).toEqual(['a', 'b']);
    expect(parsed.corrupt.map((c) => c.line)).toEqual([3]);
  });

  it('upgrades a round-1 header in place before appending, keeping every row and a torn line as they were', () => {
    const path = file();
    const legacyRow = (id: string) => formatRow(row(id), AGENTS).split('\t').slice(0, legacyHeader(AGENTS).length).join('\t');
    writeFileSync(path, `${legacyHeader(AGENTS).join('\t')}\n${legacyRow('exp-a')}\ntorn\n`);
    appendResult(path, row('exp-b'), AGENTS);
    const text = readFileSync(path, 'utf8').split('\n');
    expect(text[0]).toBe(header(AGENTS).join('\t'));
    expect(text[2]).toBe('torn');
    const parsed = readResults(path);
    expect(parsed.rows.map((r) => [r.experimentId, r.holdout, r.proposer])).toEqual([['exp-a', null, null], ['exp-b', 0.45, 'sampler']]);
    expect(parsed.corrupt.map((c) => c.line)).toEqual([3]);
  });

  it('refuses to append a row for another council to an existing file', () => {
    const path = file();
    writeFileSync(path, '');
    appendResult(path, row('a'), AGENTS);
    expect(() => appendResult(path, row('b'), ['yoda'])).toThrow(/columns .* but this council needs/);
  });
});
