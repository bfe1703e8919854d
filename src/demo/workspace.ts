import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
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
