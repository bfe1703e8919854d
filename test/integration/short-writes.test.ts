import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { readResults } from '../../src/research/results-file.js';
import { formatRow, header, type ResultRow } from '../../src/research/results-format.js';
import { PROJECT_ROOT } from '../../src/project.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const LIMIT = 1024 * 1024;

const row = (experimentId: string): ResultRow => ({
  experimentId,
  result: 'revert',
  score: 0.8,
  jailbreak: 0.9,
  agents: Object.fromEntries(AGENTS.map((a) => [a, 0.8])),
  mode: 'proxy',
  model: 'tiny',
  commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  hypothesis: 'a hypothesis long enough to need more than the few bytes the disk has left for it',
  parameters: { LORA_RANK: 8 },
  trainLoss: 1.2,
  valLoss: 1.5,
  trainSeconds: 60,
  evalSeconds: 30,
  wins: 1,
  losses: 1,
  p: 1,
  reasons: ['promotion (Yoda): fail'],
  adapterSha256: 'f'.repeat(64),
  timestamp: '2026-12-01T02:15:00.000Z',
  holdout: 0.8,
  proposer: 'sampler',
});

/**
 * A real short write: the kernel's file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so the process lives)
 * makes write(2) store only the bytes up to the limit and return that count, then fail the next call with
 * EFBIG, which is what a disk that fills up mid-write does (short count, then ENOSPC).
 */
async function underFileSizeLimit(args: string[]): Promise<string> {
  const child = await execa(
    'sh',
    ['-c', 'trap "" XFSZ; exec prlimit --fsize=$0 node bin/run-ts.js test/support/short-write-child.ts "$@"', String(LIMIT), ...args],
    { cwd: PROJECT_ROOT, env: { TSX_DISABLE_CACHE: '1' }, reject: false },
  );
  if (child.exitCode !== 0) throw new Error(`child failed: ${child.stderr}`);
  return child.stdout.trim();
}

describe('short writes on a full disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoresearch-short-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writeFileAtomic: a write cut short fails and leaves the old file whole, with no temp file', async () => {
    const path = join(dir, 'summary.json');
    writeFileSync(path, 'the old content\n');
    const out = await underFileSizeLimit(['atomic', path, String(LIMIT + 4096)]);
    expect(out).toMatch(/^error: .*EFBIG/);
    expect(readFileSync(path, 'utf8')).toBe('the old content\n');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('appendResult: a row cut short is an error and no torn row stays in results.tsv', async () => {
    const path = join(dir, 'results.tsv');
    const line = `${formatRow(row('exp-filler'), AGENTS)}\n`;
    let text = `${header(AGENTS).join('\t')}\n`;
    // Fill the file to 100 bytes short of the limit with whole rows (the last one padded to fit).
    while (Buffer.byteLength(text) + Buffer.byteLength(line) < LIMIT - 100) text += line;
    writeFileSync(path, text);
    const before = statSync(path).size;
    expect(LIMIT - before).toBeGreaterThan(100);

    const out = await underFileSizeLimit(['append', path, JSON.stringify(row('exp-torn')), JSON.stringify(AGENTS)]);
    expect(out).toMatch(/^error: .*exp-torn could not be written/);
    expect(statSync(path).size).toBe(before);
    const parsed = readResults(path);
    expect(parsed.corrupt).toEqual([]);
    expect(parsed.rows.map((r) => r.experimentId)).not.toContain('exp-torn');
  });
});
