import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { simpleGit } from 'simple-git';
import type { Config } from '../config/load.js';
import { isLoopbackRedis, probeRedis } from '../redis/connections.js';
import { redact } from '../redis/ensure.js';
import { venvPython } from '../project.js';

export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  /** What to do when it failed. */
  fix?: string;
}

/** The mlx-lm release whose server honours --adapter-path (ml-explore/mlx-lm#1249). */
export const MIN_MLX_LM = [0, 32, 2] as const;

export function checkNode(version = process.versions.node): CheckResult {
  const major = Number(version.split('.')[0]);
  return major >= 20
    ? { check: 'Node.js', ok: true, detail: `v${version}` }
    : { check: 'Node.js', ok: false, detail: `v${version}`, fix: 'install Node.js 20 or newer' };
}

export async function checkPython(): Promise<CheckResult[]> {
  const python = venvPython();
  if (!existsSync(python)) {
    return [{ check: 'Python venv', ok: false, detail: `${python} missing`, fix: 'run `sh scripts/setup.sh`' }];
  }
  const probe = [
    'import json, mlx.core as mx, mlx_lm',
    'mx.set_default_device(mx.cpu)',
    'a = mx.arange(64 * 64, dtype=mx.float32).reshape(64, 64) / 4096.0',
    'v = (a @ a.T).sum().item()',
    'print(json.dumps({"mlx": mx.__version__, "mlx_lm": mlx_lm.__version__, "matmul": v, "metal": mx.metal.is_available()}))',
  ].join('\n');
  const result = await execa(python, ['-c', probe], { reject: false, timeout: 120_000 });
  const venv: CheckResult = { check: 'Python venv', ok: true, detail: python };
  if (result.exitCode !== 0) {
    const last = String(result.stderr).trim().split('\n').pop() ?? '';
    return [venv, { check: 'MLX', ok: false, detail: last, fix: 'run `sh scripts/setup.sh` to reinstall the pinned packages' }];
  }
  const info = JSON.parse(String(result.stdout).trim().split('\n').pop() ?? '{}') as {
    mlx: string;
    mlx_lm: string;
    matmul: number;
    metal: boolean;
  };
  const mathOk = Number.isFinite(info.matmul) && Math.abs(info.matmul - sumOfGram()) / sumOfGram() < 1e-3;
  const versionOk = compareVersions(info.mlx_lm, MIN_MLX_LM) >= 0;
  return [
    venv,
    mathOk
      ? { check: 'MLX', ok: true, detail: `mlx ${info.mlx}, 64x64 matmul on the CPU ok${info.metal ? ', Metal available' : ''}` }
      : { check: 'MLX', ok: false, detail: `matmul gave ${info.matmul}, expected ${sumOfGram()}`, fix: 'reinstall: rm -rf .venv && sh scripts/setup.sh' },
    versionOk
      ? { check: 'mlx-lm', ok: true, detail: info.mlx_lm }
      : { check: 'mlx-lm', ok: false, detail: `${info.mlx_lm} ignores --adapter-path in mlx_lm.server`, fix: 'run `sh scripts/setup.sh` (pins 0.32.2)' },
  ];
}

/** sum over i,j of (A A^T)_ij for A = arange(4096)/4096 reshaped 64x64: what the probe must print. */
function sumOfGram(): number {
  let total = 0;
  const col = new Array<number>(64).fill(0);
  for (let r = 0; r < 64; r++) for (let c = 0; c < 64; c++) col[c]! += (r * 64 + c) / 4096;
  for (const s of col) total += s * s;
  return total;
}

/**
 * Every Redis release line with the fixes for the Lua interpreter's known holes, by the first release that has
 * them all. Any user with EVAL (BullMQ's workers need it) could otherwise use them:
 *   CVE-2024-31449 (bit library stack overflow: 6.2.16, 7.2.6, 7.4.1),
 *   CVE-2024-46981 (garbage-collector use-after-free: 6.2.17, 7.2.7, 7.4.2),
 *   CVE-2025-49844, -46817, -46818, -46819 (parser use-after-free, unpack overflow, running as another user,
 *   out-of-bounds read: 6.2.20, 7.2.11, 7.4.6, 8.0.4, 8.2.2, all released 2025-10-03).
 * Lines not listed (7.0, 6.0 and older) are end of life and never got the 2025 fixes; lines after 8.2 have them.
 */
export const LUA_FIXED_RELEASES: Record<string, readonly [number, number, number]> = {
  '6.2': [6, 2, 20],
  '7.2': [7, 2, 11],
  '7.4': [7, 4, 6],
  '8.0': [8, 0, 4],
  '8.2': [8, 2, 2],
};

/** The CVEs a release must carry, whether from upstream or backported by a distribution. */
export const LUA_CVES = ['CVE-2024-31449', 'CVE-2024-46981', 'CVE-2025-49844', 'CVE-2025-46817', 'CVE-2025-46818', 'CVE-2025-46819'] as const;

/**
 * Debian backports security fixes without changing the upstream version (7.0.15 in bookworm carries all six),
 * so a version below the table is still fixed when the distribution's changelog names every CVE.
 */
export function checkRedisLua(version: string, distributionChangelog: string | null = null): CheckResult {
  const check = 'Redis Lua fixes';
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  const [major = NaN, minor = NaN] = parts;
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return { check, ok: false, detail: `cannot read the version "${version}"`, fix: 'upgrade Redis' };
  const fixed = LUA_FIXED_RELEASES[`${major}.${minor}`];
  const newerLine = major > 8 || (major === 8 && minor > 2);
  if (newerLine || (fixed && compareVersions(version, fixed) >= 0)) {
    return { check, ok: true, detail: `${version} has the fixes for CVE-2024-31449, CVE-2024-46981 and CVE-2025-49844/46817/46818/46819` };
  }
  if (distributionChangelog !== null && LUA_CVES.every((cve) => distributionChangelog.includes(cve))) {
    return { check, ok: true, detail: `${version} as packaged: the distribution's changelog lists the backported fixes for ${LUA_CVES.join(', ')}` };
  }
  return {
    check,
    ok: false,
    detail: fixed
      ? `${version} lacks Lua fixes every EVAL user could exploit (CVE-2025-49844 and others); ${fixed.join('.')} has them`
      : `${version} is a release line that never got the 2025 Lua fixes (CVE-2025-49844 and others)`,
    fix: 'upgrade Redis (brew upgrade redis) to 7.2.11, 7.4.6, 8.0.4, 8.2.2 or newer in its line, then restart it',
  };
}

/** The memory rows of INFO: a limit must be set, the policy must be noeviction, and use should be under 80%. */
export function checkRedisMemory(info: string): CheckResult {
  const check = 'Redis memory';
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
  const max = Number(field('maxmemory') ?? NaN);
  const used = Number(field('used_memory') ?? NaN);
  const policy = field('maxmemory_policy') ?? 'unknown';
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  if (policy !== 'noeviction') {
    return { check, ok: false, detail: `maxmemory-policy is ${policy}: Redis would evict BullMQ's locks and jobs`, fix: 'start Redis with the project\'s redis.conf (maxmemory-policy noeviction)' };
  }
  if (!Number.isFinite(max) || max <= 0) {
    return { check, ok: false, detail: 'no maxmemory: Redis grows until the machine swaps', fix: 'start Redis with the project\'s redis.conf (maxmemory 512mb), or CONFIG SET maxmemory as the admin user' };
  }
  const share = used / max;
  if (!(share < 0.8)) {
    return {
      check,
      ok: false,
      detail: `${mb(used)} of ${mb(max)} used (${Math.round(share * 100)}%): at the limit every write fails`,
      fix: 'look for old completed or failed jobs in /queues and clean them at /admin/queues, or raise maxmemory',
    };
  }
  return { check, ok: true, detail: `${mb(used)} of ${mb(max)} (${Math.round(share * 100)}%), noeviction` };
}

const DEBIAN_CHANGELOG = '/usr/share/doc/redis-server/changelog.Debian.gz';

/** Debian's packaging changelog, where its security backports are listed; null elsewhere. */
function distributionChangelog(): string | null {
  try {
    return existsSync(DEBIAN_CHANGELOG) ? gunzipSync(readFileSync(DEBIAN_CHANGELOG)).toString('utf8') : null;
  } catch {
    return null;
  }
}

/** INFO server and memory, on a throwaway connection. */
async function redisInfo(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2_000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return `${await client.info('server')}\n${await client.info('memory')}`;
  } finally {
    client.disconnect();
  }
}

export async function checkRedis(config: Config): Promise<CheckResult[]> {
  const binary = await execa('redis-server', ['--version'], { reject: false });
  const version = /v=(\d+)\.(\d+)\.(\d+)/.exec(String(binary.stdout));
  const rows: CheckResult[] = [];
  const binaryOk = version !== null && (Number(version[1]) > 6 || (Number(version[1]) === 6 && Number(version[2]) >= 2));
  rows.push(
    binaryOk
      ? { check: 'redis-server', ok: true, detail: `${version![1]}.${version![2]}.${version![3]}` }
      : {
          check: 'redis-server',
          ok: false,
          detail: version ? `${version[1]}.${version[2]} is older than 6.2` : 'not installed',
          fix: 'run `sh scripts/setup.sh` (brew install redis / apt-get install redis-server)',
        },
  );
  const probe = await probeRedis(config.redis.url);
  const shown = redact(config.redis.url);
  if (probe.ok) {
    rows.push({ check: 'Redis', ok: true, detail: `${shown} answers (Redis ${probe.version})` });
    rows.push(checkRedisLua(probe.version, distributionChangelog()));
    try {
      rows.push(checkRedisMemory(await redisInfo(config.redis.url)));
    } catch (error) {
      rows.push({ check: 'Redis memory', ok: false, detail: (error as Error).message, fix: 'the Redis user needs INFO (ops/redis/acl.ts grants it)' });
    }
    return rows;
  }
  if (config.redis.embedded && !config.redisFromEnv && isLoopbackRedis(config.redis.url)) {
    rows.push({ check: 'Redis', ok: binaryOk, detail: `${shown} not running; commands start an embedded redis-server there` });
  } else {
    rows.push({ check: 'Redis', ok: false, detail: `${shown}: ${probe.reason}`, fix: 'start Redis on the coordinator or fix redis.url / REDIS_URL' });
  }
  // Not running: the binary here is what would start.
  if (version) rows.push(checkRedisLua(`${version[1]}.${version[2]}.${version[3]}`, distributionChangelog()));
  return rows;
}

export async function checkGit(config: Config): Promise<CheckResult> {
  const repo = config.paths.repo;
  if (!existsSync(repo)) return { check: 'git', ok: false, detail: `${repo} does not exist`, fix: 'set paths.repo to your clone' };
  const git = simpleGit(repo);
  if (!(await git.checkIsRepo())) return { check: 'git', ok: false, detail: `${repo} is not a git repository`, fix: 'clone the project with git' };
  const status = await git.status();
  const dirty = status.files.length;
  return {
    check: 'git',
    ok: true,
    detail: `${status.current ?? 'detached'} at ${repo}${dirty > 0 ? `, ${dirty} uncommitted file(s): \`run\` will refuse until committed` : ', clean'}`,
  };
}

export function compareVersions(version: string, min: readonly number[]): number {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    const d = (parts[i] ?? 0) - (min[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
