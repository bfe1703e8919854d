import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../project.js';
import { runPythonScript, type PythonScriptOptions } from './python-script.js';

export const CHECK_ADAPTER_PY = join(PROJECT_ROOT, 'python', 'check_adapter.py');

const checkSchema = z.object({ loaded: z.literal(true), lora_layers: z.int().nonnegative(), sample: z.string() });

/** Loads `model` with the adapter through mlx_lm (as the server does) and returns a greedy sample. */
export async function checkAdapter(
  model: string,
  adapterDir: string,
  options: PythonScriptOptions & { prompt?: string } = {},
): Promise<{ loraLayers: number; sample: string }> {
  const args = ['--model', model, '--adapter', adapterDir];
  if (options.prompt) args.push('--prompt', options.prompt);
  const checked = checkSchema.parse(await runPythonScript(CHECK_ADAPTER_PY, args, options));
  return { loraLayers: checked.lora_layers, sample: checked.sample };
}
