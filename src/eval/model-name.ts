import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import type { Config } from '../config/load.js';
import { EnvironmentError } from '../errors.js';
import type { Logger } from '../log.js';
import { PROJECT_ROOT, venvPython } from '../project.js';

const resultSchema = z.looseObject({ event: z.literal('result'), model_dir: z.string() });

/**
 * "tiny" names the small model built offline from the council's own text (python/tiny_model.py, cached under
 * `<state>/models` by content hash); anything else is a folder or hub id that mlx_lm loads as is.
 */
export async function resolveModelName(
  model: string,
  config: Config,
  options: { signal?: AbortSignal; log?: Logger } = {},
): Promise<string> {
  if (model !== 'tiny') return model;
  options.log?.info('building or finding the tiny model');
  const result = await execa(
    venvPython(),
    [join(PROJECT_ROOT, 'python', 'tiny_model.py'), '--council', config.council.dir, '--out-root', join(config.paths.state, 'models'), '--seed', String(config.models.training.seed)],
    { cwd: join(PROJECT_ROOT, 'python'), reject: false, cancelSignal: options.signal, forceKillAfterDelay: 5_000, cleanup: true },
  );
  if (options.signal?.aborted) throw options.signal.reason;
  const line = result.stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  const parsed = line ? resultSchema.safeParse(JSON.parse(line)) : null;
  if (result.exitCode !== 0 || !parsed?.success) {
    throw new EnvironmentError(`building the tiny model failed (exit ${result.exitCode}): ${result.stderr.split('\n').slice(-5).join('\n')}`);
  }
  return parsed.data.model_dir;
}
