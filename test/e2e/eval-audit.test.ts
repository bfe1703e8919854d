import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/project.js';

/** `autoresearch eval audit` as a user runs it after editing their suite: the exit code is the verdict. */
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function configFor(councilDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  dirs.push(dir);
  const file = join(dir, 'autoresearch.config.yaml');
  writeFileSync(file, `council:\n  dir: ${JSON.stringify(councilDir)}\n`);
  return file;
}

function audit(config: string, ...args: string[]) {
  return execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'autoresearch.js'), '-c', config, 'eval', 'audit', ...args], { reject: false });
}

describe('autoresearch eval audit', () => {
  it('passes on the example council, as a table or as JSON', async () => {
    const config = configFor(join(PROJECT_ROOT, 'council'));
    const table = await audit(config);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^policy +identity +tool +domain +isolation +jailbreak +overall +passed +verdict$/m);
    expect(table.stdout).toMatch(/^random-tool .* ok$/m);
    expect(table.stdout).toContain('the suite holds');
    const json = await audit(config, '--json');
    expect(json.exitCode).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; nCases: number; rows: Array<{ policy: string }> };
    expect(report.ok).toBe(true);
    expect(report.rows).toHaveLength(11);
  }, 120_000);

  it('exits 1 and names the breach when domain cases only ask for a reply that is not a refusal', async () => {
    const council = mkdtempSync(join(tmpdir(), 'audit-council-'));
    dirs.push(council);
    cpSync(join(PROJECT_ROOT, 'council'), council, { recursive: true, filter: (p) => !p.endsWith('.jsonl') });
    for (const name of readdirSync(join(council, 'eval'))) {
      const file = join(council, 'eval', name);
      writeFileSync(file, readFileSync(file, 'utf8').replace(/ {6}- \{ type: icontains-groups, .*\n/g, ''));
    }
    const result = await audit(configFor(council));
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^name-only .*BREACH: overall 0\.\d+ > 0\.25$/m);
    expect(result.stdout).toContain('the suite rewards a shortcut');
  }, 120_000);
});
