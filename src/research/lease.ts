import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/**
 * One planner at a time: a Redis key holding the owner's token with a TTL, renewed at a third of the TTL.
 * A planner that dies stops renewing and its lease expires; a planner that loses its lease (Redis flushed,
 * a long pause) is told through `lost` and must stop before deciding anything.
 */
export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
  readonly exitCode = 1;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class PlannerLease {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly token: string,
    private readonly ttlMs: number,
  ) {}

  /** Aborted when the lease is lost. */
  get lost(): AbortSignal {
    return this.controller.signal;
  }

  static async acquire(redis: Redis, key: string, ttlMs: number): Promise<PlannerLease> {
    const token = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') {
      const holder = await redis.get(key);
      const left = await redis.pttl(key);
      throw new LeaseHeldError(
        `another planner holds the lease ${key} (${holder ?? 'unknown'}, ${Math.max(0, Math.round(left / 1000))} s left); ` +
          'only one `autoresearch run` may plan at a time. If that planner is dead, its lease expires by itself.',
      );
    }
    const lease = new PlannerLease(redis, key, token, ttlMs);
    lease.timer = setInterval(() => void lease.renew(), Math.max(100, Math.floor(ttlMs / 3)));
    lease.timer.unref();
    return lease;
  }

  private async renew(): Promise<void> {
    try {
      const ok = await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs));
      if (ok !== 1) this.lose(new Error(`the planner lease ${this.key} was lost (expired or taken over)`));
    } catch (error) {
      this.lose(error as Error);
    }
  }

  private lose(reason: Error): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
