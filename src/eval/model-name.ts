import type { Config } from '../config/load.js';
import type { Logger } from '../log.js';
import { resolveModel } from '../train/tiny-model.js';

/**
 * "tiny" names the small model built offline from the council's own text (cached under `<state>/models` by
 * content hash, so only the first run builds it); anything else is a folder or hub id that mlx_lm loads as is.
 */
export async function resolveModelName(
  model: string,
  config: Config,
  options: { signal?: AbortSignal; log?: Logger } = {},
): Promise<string> {
  const resolved = await resolveModel(
    model,
    { councilDir: config.council.dir, stateDir: config.paths.state, seed: config.models.training.seed },
    { signal: options.signal, onStderr: (line) => options.log?.debug({ line }, 'tiny model') },
  );
  if (resolved !== model) options.log?.info({ model: resolved }, 'using the tiny model');
  return resolved;
}
