import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/project.js';
import { header } from '../../src/research/results-format.js';
import { uniquePrefix } from '../support/redis.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';

const CLI = join(PROJECT_ROOT, 'bin/autoresearch.js');
const root = mkdtempSync(join(tmpdir(), 'autoresearch-columns-'));
const repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
});

/** results.tsv written for another council (two agents) while the project's council has six. */
function configWithForeignResults(): { configFile: string; results: string } {
  const results = join(root, 'results.tsv');
  writeFileSync(results, `${header(['yoda', 'windu']).join('\t')}\n`);
  const configFile = join(root, 'autoresearch.config.yaml');
  const config = {
    paths: { state: join(root, 'state'), repo, results },
    redis: { url: inject('redisUrl'), embedded: false, prefix: uniquePrefix('columns') },
    planner: { kind: 'offline' },
    council: { dir: join(PROJECT_ROOT, 'council') },
  };
  writeFileSync(configFile, JSON.stringify(config));
  return { configFile, results };
}

const cli = (configFile: string, args: string[]) =>
  execa(process.execPath, [CLI, '-c', configFile, ...args], { cwd: repo, env: { ANTHROPIC_API_KEY: '', VITEST: '' }, reject: false });

describe('results.tsv columns that are not the council', () => {
  it('`results` warns on stderr, `run` refuses before planning, committing or enqueueing anything', async () => {
    const { configFile, results } = configWithForeignResults();
    const before = gitIn(repo, 'rev-parse', 'HEAD').trim();
    const shown = await cli(configFile, ['results']);
    expect(shown.exitCode).toBe(0);
    expect(shown.stderr).toContain(`warning: ${results} has the agent columns yoda, windu but the council has yoda, jocasta, windu, quigon, cilghal, mundi`);
    const run = await cli(configFile, ['run', '--max-experiments', '1']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/has the agent columns yoda, windu but the council has/);
    expect(gitIn(repo, 'rev-parse', 'HEAD').trim()).toBe(before);
    expect(gitIn(repo, 'for-each-ref', 'refs/autoresearch/')).toBe('');
    expect(readFileSync(results, 'utf8')).toBe(`${header(['yoda', 'windu']).join('\t')}\n`);
  });
});
