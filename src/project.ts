import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of this checkout of council-autoresearch: its python/, redis.conf and .venv live here. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The venv's interpreter; AUTORESEARCH_PYTHON points elsewhere for unusual set-ups. */
export function venvPython(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUTORESEARCH_PYTHON ?? join(PROJECT_ROOT, '.venv', 'bin', 'python');
}
