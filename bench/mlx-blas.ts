import { execa } from 'execa';
import { venvPython } from '../src/project.js';
import { mlxEnv } from '../src/train/mlx-env.js';

/**
 * Why the Linux set-up preloads OpenBLAS: the same MLX matmuls (the tiny model's shapes) with the wheel's own
 * BLAS and with the system OpenBLAS. Prints GFLOP/s for each and the ratio.
 */
const probe = `
import json, time, mlx.core as mx
mx.set_default_device(mx.cpu)
mx.random.seed(0)
a = mx.random.normal((512, 192)); b = mx.random.normal((192, 768))
mx.eval(a @ b)
n = 200
t = time.perf_counter()
for _ in range(n):
    mx.eval(a @ b)
s = time.perf_counter() - t
print(json.dumps({"gflops": 2 * 512 * 192 * 768 * n / s / 1e9}))
`;

async function gflops(env: NodeJS.ProcessEnv): Promise<number> {
  const result = await execa(venvPython(), ['-c', probe], { env, extendEnv: false });
  return (JSON.parse(String(result.stdout).trim().split('\n').pop()!) as { gflops: number }).gflops;
}

export async function benchMlxBlas(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('mlx-blas: Linux only (macOS uses Metal)');
    return;
  }
  const bundled = await gflops(mlxEnv({ ...process.env, AUTORESEARCH_NO_OPENBLAS: '1' }));
  const preloaded = await gflops(mlxEnv(process.env));
  console.log(`mlx-blas: bundled BLAS ${bundled.toFixed(1)} GFLOP/s, OpenBLAS preloaded ${preloaded.toFixed(1)} GFLOP/s, ratio ${(preloaded / bundled).toFixed(2)}x`);
}
