import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { EnvironmentError } from '../errors.js';
import type { Logger } from '../log.js';
import { isLoopbackRedis, probeRedis } from './connections.js';
import { startRedisServer } from './server-process.js';

export interface RedisLease {
  url: string;
  /** True when this process started redis-server and will stop it on release. */
  embedded: boolean;
  release(): Promise<void>;
}

/**
 * Finds Redis for a command: the configured server if it answers; otherwise, for a loopback address with
 * `redis.embedded` on and no REDIS_URL, a redis-server this process starts and stops when released.
 */
export async function ensureRedis(config: Config, log: Logger): Promise<RedisLease> {
  const url = config.redis.url;
  const probe = await probeRedis(url);
  if (probe.ok) return { url, embedded: false, release: async () => undefined };
  if (config.redisFromEnv || !config.redis.embedded || !isLoopbackRedis(url)) {
    throw new EnvironmentError(
      `Redis at ${redact(url)} is unreachable (${probe.reason}). ` +
        (config.redisFromEnv
          ? 'Check REDIS_URL, or unset it to let the CLI start a local redis-server.'
          : 'Start it (brew services start redis), or point redis.url at the coordinator.'),
    );
  }
  const port = Number(new URL(url).port || 6379);
  const dataDir = join(config.paths.state, 'redis');
  log.info({ port, dataDir }, 'starting an embedded redis-server');
  const server = await startRedisServer({ port, dataDir });
  return {
    url: server.url,
    embedded: true,
    async release() {
      await server.stop();
      log.info({ port }, 'embedded redis-server stopped');
    },
  };
}

/** A URL safe to print: the password is hidden. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
