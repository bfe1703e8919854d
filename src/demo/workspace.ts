import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { EnvironmentError } from '../errors.js';
import { readSection, writeSection } from '../research/section.js';

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
 * The seed's learning rate (5e-6) is sized for a 9B model and a 15-minute budget; on the tiny model and a
 * budget of seconds it leaves the adapter a no-op. The demo's clone therefore starts from the top of the
 * allowed range, committed like any hand edit, so the planner explores around a point where LoRA moves scores.
 */
export async function commitDemoStartingPoint(repo: string, agents: readonly string[]): Promise<string> {
  const trainPy = join(repo, 'python', 'train.py');
  const values = readSection(readFileSync(trainPy, 'utf8'), agents);
  const start = {
    ...values,
    LEARNING_RATE: 1e-4,
    EXPERIMENT_HYPOTHESIS: 'Demo starting point: the tiny local model needs the top of the learning-rate range to move in seconds.',
  };
  writeFileSync(trainPy, writeSection(readFileSync(trainPy, 'utf8'), start, agents));
  const git = simpleGit(repo);
  await git.add(['python/train.py']);
  await git.commit('demo: start from a learning rate the tiny model can learn with in seconds', ['python/train.py']);
  return (await git.revparse(['HEAD'])).trim();
}
