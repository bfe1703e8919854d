import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../project.js';
import { runPythonScript, type PythonScriptOptions } from './python-script.js';

export const TINY_MODEL_PY = join(PROJECT_ROOT, 'python', 'tiny_model.py');
/** The value of `models.<mode>.model` that means "the tiny model built from the council". */
export const TINY_MODEL = 'tiny';

export interface TinyModelRequest {
  councilDir: string;
  /** The state folder; models are cached under `<state>/models/`. */
  stateDir: string;
  seed?: number;
}

const builtSchema = z.object({
  model_dir: z.string(),
  cached: z.boolean(),
  build_seconds: z.number(),
  final_loss: z.number(),
  corpus_tokens: z.int(),
  vocab_size: z.int(),
});
export interface TinyModel {
  modelDir: string;
  /** Already built for this council, seed and builder: nothing was trained now. */
  cached: boolean;
  buildSeconds: number;
  finalLoss: number;
}

function args(request: TinyModelRequest): string[] {
  return ['--council', request.councilDir, '--out-root', join(request.stateDir, 'models'), '--seed', String(request.seed ?? 0)];
}

/** The tiny model's folder, built on demand (about a minute or two on two cores) and cached by content. */
export async function ensureTinyModel(request: TinyModelRequest, options: PythonScriptOptions = {}): Promise<TinyModel> {
  const built = builtSchema.parse(await runPythonScript(TINY_MODEL_PY, args(request), options));
  return { modelDir: built.model_dir, cached: built.cached, buildSeconds: built.build_seconds, finalLoss: built.final_loss };
}

/** Where the tiny model for this council is or would be, and whether it exists; builds nothing. */
export async function tinyModelPath(request: TinyModelRequest, options: PythonScriptOptions = {}): Promise<{ modelDir: string; exists: boolean }> {
  const raw = z.object({ model_dir: z.string(), exists: z.boolean() }).parse(await runPythonScript(TINY_MODEL_PY, [...args(request), '--print-path'], options));
  return { modelDir: raw.model_dir, exists: raw.exists };
}

/** A configured model name to a path or id for mlx_lm: `tiny` becomes the (built) tiny model's folder. */
export async function resolveModel(model: string, request: TinyModelRequest, options: PythonScriptOptions = {}): Promise<string> {
  return model === TINY_MODEL ? (await ensureTinyModel(request, options)).modelDir : model;
}
