import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveExperiment, promoteAdapter, pruneAdapters } from '../../src/research/artifacts.js';
import type { ExperimentExecution } from '../../src/research/executor.js';
import type { ResultKind, ResultRow } from '../../src/research/results-format.js';

const dirs: string[] = [];
function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'autoresearch-artifacts-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function bundle(dir: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapters.safetensors'), content);
  writeFileSync(join(dir, 'adapter_config.json'), '{"rank": 8}');
  return dir;
}

const row = (experimentId: string, result: ResultKind) => ({ experimentId, result }) as ResultRow;

describe('experiment artifacts', () => {
  it('archives the adapter and eval run by experiment id, idempotently', () => {
    const r = root();
    const paths = { adaptersExperimental: join(r, 'adapters-experimental'), logs: join(r, 'logs'), stableAdapter: join(r, 'stable') };
    const evalDir = join(r, 'evals', 'run-1');
    mkdirSync(evalDir, { recursive: true });
    writeFileSync(join(evalDir, 'summary.json'), '{}');
    writeFileSync(join(evalDir, 'records.jsonl'), '{}\n');
    const execution = {
      experimentId: 'exp-1', mode: 'proxy', modeReason: 'requested', model: 'tiny', training: null,
      adapterSha256: 'a'.repeat(64), adapterPath: bundle(join(r, 'store', 'a'), 'weights-1'), eval: null, evalRunDir: evalDir,
    } as ExperimentExecution;
    const first = archiveExperiment(paths, execution);
    expect(readFileSync(join(first.adapterDir!, 'adapters.safetensors'), 'utf8')).toBe('weights-1');
    expect(readdirSync(join(first.logDir, 'eval')).sort()).toEqual(['records.jsonl', 'summary.json']);
    expect(JSON.parse(readFileSync(join(first.logDir, 'execution.json'), 'utf8')).experimentId).toBe('exp-1');
    expect(archiveExperiment(paths, execution)).toEqual(first);
    expect(readdirSync(paths.adaptersExperimental)).toEqual(['exp-1']);
  });

  it('promotes by replacing the stable adapter whole, leaving no temporaries', () => {
    const r = root();
    const stable = join(r, 'sanctum', 'council-champion');
    promoteAdapter({ stableAdapter: stable }, bundle(join(r, 'a1'), 'champion-1'), 'exp-1');
    expect(readFileSync(join(stable, 'adapters.safetensors'), 'utf8')).toBe('champion-1');
    promoteAdapter({ stableAdapter: stable }, bundle(join(r, 'a2'), 'champion-2'), 'exp-2');
    expect(readFileSync(join(stable, 'adapters.safetensors'), 'utf8')).toBe('champion-2');
    expect(JSON.parse(readFileSync(join(stable, 'PROMOTED.json'), 'utf8')).experimentId).toBe('exp-2');
    expect(readdirSync(join(r, 'sanctum'))).toEqual(['council-champion']);
  });

  it('prunes old discarded adapters only, never a champion or an undecided one', () => {
    const r = root();
    const dir = join(r, 'adapters-experimental');
    for (const id of ['b', 'k1', 'd1', 'd2', 'k2', 'd3', 'inflight']) bundle(join(dir, id), id);
    const rows = [row('b', 'base'), row('k1', 'keep'), row('d1', 'revert'), row('d2', 'veto-jailbreak'), row('k2', 'keep'), row('d3', 'crash')];
    expect(pruneAdapters({ adaptersExperimental: dir }, rows, 1)).toEqual(['d1', 'd2']);
    expect(readdirSync(dir).sort()).toEqual(['b', 'd3', 'inflight', 'k1', 'k2']);
    expect(pruneAdapters({ adaptersExperimental: dir }, rows, 0)).toEqual(['d3']);
    expect(existsSync(join(dir, 'k1'))).toBe(true);
  });
});
