import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { EnvironmentError } from '../errors.js';

/**
 * The demo never touches the user's checkout: it clones the committed HEAD into a scratch folder and runs the
 * research loop on that clone, so its commits, refs, results.tsv and adapters live and die there.
 */
export async function prepareScratchRepo(sourceRepo: string, target: string): Promise<{ path: string; head: string }> {
  const source = simpleGit(sourceRepo);
  if (!(await source.checkIsRepo())) {
    throw new EnvironmentError(`${sourceRepo} is not a git checkout; the demo clones the committed project to work in a scratch copy`);
  }
  const head = (await source.revparse(['HEAD'])).trim();
  if (existsSync(target)) rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  await simpleGit().clone(sourceRepo, target, ['--quiet', '--no-hardlinks', '--single-branch']);
  const clone = simpleGit(target);
  await clone.addConfig('user.name', 'council-autoresearch demo', false, 'local');
  await clone.addConfig('user.email', 'demo@council-autoresearch.invalid', false, 'local');
  return { path: target, head };
}

/**
 * What the demo writes into its folder, by name. Every demo starts from none of it: the scratch repository is
 * cloned afresh, so a previous run's Redis records, memory events, artifacts and champion would describe
 * experiments that no longer exist. Only these names are removed, never the folder itself, since `--dir` may
 * point anywhere.
 */
export const DEMO_ENTRIES = {
  logs: 'logs',
  redis: 'redis',
  repo: 'repo',
  memory: 'memory',
  miniState: 'mini-state',
  mbpState: 'mbp-state',
  idleServer: 'idle-server',
  stableAdapter: 'stable-adapter',
  miniConfig: 'mini.config.yaml',
  mbpConfig: 'mbp.config.yaml',
} as const;

export function demoPath(dir: string, entry: keyof typeof DEMO_ENTRIES): string {
  return join(dir, DEMO_ENTRIES[entry]);
}

export function clearDemoFolder(dir: string): void {
  for (const name of Object.values(DEMO_ENTRIES)) rmSync(join(dir, name), { recursive: true, force: true });
}
