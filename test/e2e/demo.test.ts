import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/project.js';
import { readResults } from '../../src/research/results-file.js';
import { RESULT_KINDS, SEED_COLUMNS } from '../../src/research/results-format.js';

/**
 * The README's main command as a user runs it, with its default settings: embedded Redis, the coordinator, a
 * Mini and a laptop worker as processes, the Mini's idle model server (a real mlx_lm.server), real training and
 * evaluation on the tiny model, the laptop going away and coming back. Then the outcome is checked on disk and
 * in the process table.
 */
const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
let dir: string;
let demo: Awaited<ReturnType<typeof execa>>;
let serversBefore: string[];

async function processesMentioning(text: string): Promise<string[]> {
  const ps = await execa('ps', ['-eo', 'pid=,args='], { reject: false });
  return String(ps.stdout)
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autoresearch-demo-'));
  serversBefore = await processesMentioning('mlx_lm.server');
  demo = await execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'autoresearch.js'), 'demo', '--dir', dir], {
    env: { ...process.env, ANTHROPIC_API_KEY: '', VITEST: '', AUTORESEARCH_LOG_LEVEL: 'info' },
    reject: false,
    all: true,
  });
}, 1_500_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('autoresearch demo (default settings)', () => {
  it('runs to the end and says what happened, phase by phase', () => {
    if (demo.exitCode !== 0) throw new Error(`demo exited ${demo.exitCode}:\n${String(demo.all).slice(-6000)}`);
    const out = String(demo.stdout);
    expect(out).toContain('the laptop goes to sleep');
    expect(out).toMatch(/⇒ exp-\S+: [A-Z-]+ \(full mode/);
    expect(out).toMatch(/⇒ exp-\S+: [A-Z-]+ \(proxy mode/);
    expect(out).toContain('results.tsv');
    expect(out).toContain('dashboard');
    expect(out).toMatch(/idle model server stop: stopped \(pid \d+\) \[(train-proxy|eval):/);
    expect(out).toContain('idle model server start: mlx_lm.server');
    expect(out).toContain('before the night (bare base model)');
    expect(out).toContain('after the night');
  });

  it('writes results.tsv with the seed columns first and a decided row per experiment, plus a baseline per mode', () => {
    const file = join(dir, 'repo', 'results.tsv');
    const header = readFileSync(file, 'utf8').split('\n')[0]!.split('\t');
    expect(header.slice(0, SEED_COLUMNS.length + AGENTS.length)).toEqual([...SEED_COLUMNS, ...AGENTS]);
    const { rows, corrupt } = readResults(file);
    expect(corrupt).toEqual([]);
    expect(rows.filter((r) => r.result === 'base').map((r) => r.mode).sort()).toEqual(['full', 'proxy']);
    const experiments = rows.filter((r) => r.result !== 'base');
    expect(experiments.map((r) => r.mode)).toEqual(['full', 'proxy', 'full']);
    for (const row of rows) {
      expect(RESULT_KINDS).toContain(row.result);
      expect(row.reasons.length).toBeGreaterThan(0);
    }
  });

  it('keeps a git ref for every experiment and an eval record folder for every evaluation', async () => {
    const repo = join(dir, 'repo');
    const refs = await execa('git', ['-C', repo, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/experiments/']);
    const { rows } = readResults(join(repo, 'results.tsv'));
    for (const row of rows.filter((r) => r.result !== 'base')) {
      expect(String(refs.stdout)).toContain(`refs/autoresearch/experiments/${row.experimentId}`);
    }
    for (const row of rows.filter((r) => r.score !== null)) {
      expect(existsSync(join(repo, 'logs', row.experimentId, 'eval', 'records.jsonl'))).toBe(true);
      expect(existsSync(join(repo, 'logs', row.experimentId, 'eval', 'summary.json'))).toBe(true);
    }
    expect(existsSync(join(dir, 'memory', 'events'))).toBe(true);
  });

  it('keeps at least one experiment, promotes it, and the restored idle server loads exactly that adapter', () => {
    const { rows } = readResults(join(dir, 'repo', 'results.tsv'));
    const champion = rows.filter((r) => r.result === 'keep').at(-1);
    if (!champion) throw new Error(`no experiment was kept:\n${rows.map((r) => `${r.experimentId} ${r.result} ${r.reasons.join('; ')}`).join('\n')}`);
    expect(String(demo.stdout)).toContain(`new champion ${champion.experimentId}: promoted to`);
    const stable = join(dir, 'stable-adapter');
    const loaded = JSON.parse(readFileSync(join(dir, 'idle-server', 'loaded.json'), 'utf8'));
    expect(JSON.parse(readFileSync(join(stable, 'PROMOTED.json'), 'utf8')).experimentId).toBe(champion.experimentId);
    expect(loaded.adapterPath).toBe(stable);
    expect(loaded.experimentId).toBe(champion.experimentId);
    expect(loaded.adapterWeightsSha256).toBe(createHash('sha256').update(readFileSync(join(stable, 'adapters.safetensors'))).digest('hex'));
  });

  it('asks the idle server the same question before and after the night, prints both, and the champion answers differently', () => {
    const replies = JSON.parse(readFileSync(join(dir, 'idle-server', 'replies.json'), 'utf8'));
    expect(replies.before.experimentId).toBeNull();
    const champion = readResults(join(dir, 'repo', 'results.tsv')).rows.filter((r) => r.result === 'keep').at(-1);
    expect(replies.after.experimentId).toBe(champion?.experimentId);
    // Greedy decoding of the same model gives the same reply; the promoted adapter changes it.
    expect(replies.after.raw).not.toBe(replies.before.raw);
    const out = String(demo.stdout);
    expect(out).toContain('before the night (bare base model)');
    expect(out).toContain('after the night');
  });

  it('leaves no process behind: no redis-server, worker, server, mlx_lm.server or trainer', async () => {
    expect(await processesMentioning(dir)).toEqual([]);
    const servers = await processesMentioning('mlx_lm.server');
    expect(servers.filter((line) => !serversBefore.includes(line))).toEqual([]);
  });
});
