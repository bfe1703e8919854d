import { existsSync } from 'node:fs';

/**
 * The environment for Python processes that run MLX. On Linux the mlx-cpu wheel bundles the reference BLAS,
 * which makes the tiny model's training about 8x slower than OpenBLAS; when the system has OpenBLAS
 * (scripts/setup.sh installs libopenblas0-pthread), it is preloaded so MLX's cblas calls resolve to it.
 * macOS uses Metal and is left alone. AUTORESEARCH_NO_OPENBLAS=1 turns this off.
 */
const OPENBLAS_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/libopenblas.so.0',
  '/usr/lib/aarch64-linux-gnu/libopenblas.so.0',
  '/usr/lib64/libopenblas.so.0',
];

export function mlxEnv(base: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  const env = { ...base, PYTHONUNBUFFERED: '1', TOKENIZERS_PARALLELISM: 'false' };
  if (platform !== 'linux' || base.AUTORESEARCH_NO_OPENBLAS === '1') return env;
  const lib = OPENBLAS_CANDIDATES.find((path) => existsSync(path));
  if (!lib || (base.LD_PRELOAD ?? '').includes(lib)) return env;
  return { ...env, LD_PRELOAD: base.LD_PRELOAD ? `${lib}:${base.LD_PRELOAD}` : lib };
}
