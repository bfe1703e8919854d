import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PROJECT_ROOT } from '../project.js';

/**
 * Presence: each worker process keeps one key with a TTL, rewritten every interval while its Redis connection
 * is ready. A laptop that sleeps stops writing and its key expires; there is no goodbye to miss. A second,
 * permanent hash remembers when each machine was last seen, so `status` can say "away since 01:12".
 */
export const busySchema = z.strictObject({
  queue: z.string(),
  jobId: z.string(),
  experimentId: z.string(),
  since: z.string(),
  progress: z.record(z.string(), z.unknown()).nullable(),
});
export type Busy = z.infer<typeof busySchema>;

export const heartbeatSchema = z.strictObject({
  machine: z.string(),
  role: z.string(),
  consumes: z.array(z.string()),
  version: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  updatedAt: z.string(),
  busy: busySchema.nullable(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

const lastSeenSchema = z.strictObject({ role: z.string(), at: z.string() });
export type LastSeen = z.infer<typeof lastSeenSchema>;

export const PROJECT_VERSION: string = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

const presencePattern = (prefix: string) => `${prefix}:fleet:presence:*`;
const presenceKey = (prefix: string, machine: string, pid: number) =>
  `${prefix}:fleet:presence:${encodeURIComponent(machine)}:${pid}`;
const lastSeenKey = (prefix: string) => `${prefix}:fleet:last-seen`;

export interface HeartbeatOptions {
  redis: Redis;
  prefix: string;
  machine: string;
  role: string;
  consumes: string[];
  intervalMs: number;
  ttlMs: number;
  onError?: (error: Error) => void;
}

export interface HeartbeatHandle {
  setBusy(busy: Omit<Busy, 'progress' | 'since'> | null): void;
  setProgress(progress: Record<string, unknown>): void;
  /** Writes now (when the connection is ready) instead of at the next tick. */
  beat(): Promise<void>;
  /** Stops writing and deletes the key: the machine shows as away at once. */
  stop(): Promise<void>;
}

export function startHeartbeat(options: HeartbeatOptions): HeartbeatHandle {
  const { redis, prefix } = options;
  const key = presenceKey(prefix, options.machine, process.pid);
  const startedAt = new Date().toISOString();
  let busy: Busy | null = null;
  let stopped = false;

  const beat = async () => {
    // Only a ready connection proves this process is alive and reachable; queued writes would not.
    if (stopped || redis.status !== 'ready') return;
    const now = new Date().toISOString();
    const value: Heartbeat = {
      machine: options.machine,
      role: options.role,
      consumes: options.consumes,
      version: PROJECT_VERSION,
      pid: process.pid,
      startedAt,
      updatedAt: now,
      busy,
    };
    try {
      await redis
        .multi()
        .set(key, JSON.stringify(value), 'PX', options.ttlMs)
        .hset(lastSeenKey(prefix), options.machine, JSON.stringify({ role: options.role, at: now }))
        .exec();
    } catch (error) {
      options.onError?.(error as Error);
    }
  };
  const timer = setInterval(() => void beat(), options.intervalMs);
  void beat();

  return {
    setBusy(next) {
      busy = next ? { ...next, since: new Date().toISOString(), progress: null } : null;
      void beat();
    },
    setProgress(progress) {
      if (busy) busy = { ...busy, progress };
    },
    beat,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (redis.status !== 'ready') return;
      try {
        await redis
          .multi()
          .del(key)
          .hset(lastSeenKey(prefix), options.machine, JSON.stringify({ role: options.role, at: new Date().toISOString() }))
          .exec();
      } catch (error) {
        options.onError?.(error as Error);
      }
    },
  };
}

export interface Presence {
  live: Heartbeat[];
  lastSeen: Record<string, LastSeen>;
}

export async function readPresence(redis: Redis, prefix: string): Promise<Presence> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', presencePattern(prefix), 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const values = keys.length > 0 ? await redis.mget(keys) : [];
  const live: Heartbeat[] = [];
  for (const value of values) {
    if (value === null) continue;
    const parsed = heartbeatSchema.safeParse(safeJson(value));
    if (parsed.success) live.push(parsed.data);
  }
  const lastSeen: Record<string, LastSeen> = {};
  for (const [machine, value] of Object.entries(await redis.hgetall(lastSeenKey(prefix)))) {
    const parsed = lastSeenSchema.safeParse(safeJson(value));
    if (parsed.success) lastSeen[machine] = parsed.data;
  }
  live.sort((a, b) => a.machine.localeCompare(b.machine) || a.pid - b.pid);
  return { live, lastSeen };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
