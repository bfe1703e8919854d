import { Redis, type RedisOptions } from 'ioredis';

/**
 * Producers (CLI, planner, web server) fail fast when Redis is down, so a command reports the outage instead
 * of hanging; workers wait forever through an outage, as BullMQ requires of their connections.
 */
export function producerConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 3_000,
    lazyConnect: false,
    ...options,
  });
}

/**
 * The longest pause between a worker connection's reconnect attempts. ioredis's default grows to 2 s after
 * about 40 s of failures, so a laptop that woke before its network did reached Redis up to 2 s late, and its
 * waiting job started up to 2.6 s after Redis was back (bench/wake.ts, network-late). A try every half second
 * costs nothing on a LAN and keeps the wake within the 2 s goal.
 */
export const WORKER_RECONNECT_MAX_MS = 500;

export function workerConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 50, WORKER_RECONNECT_MAX_MS),
    ...options,
  });
}

/** One round trip on a throwaway connection: the server's version, or the reason it is unreachable. */
export async function probeRedis(url: string, timeoutMs = 2_000): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return { ok: true, version };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    client.disconnect();
  }
}

export function isLoopbackRedis(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}
