import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/**
 * One planner at a time: a Redis key holding the owner's token with a TTL, renewed at a third of the TTL.
 * A planner that dies stops renewing and its lease expires; a planner that loses its lease (Redis flushed,
 * another planner took over after the TTL) is told through `lost` and must stop before deciding anything.
 *
 * Losing the connection is not losing the lease: until the TTL has passed since the last successful renewal,
 * no other planner can hold the key, so a Redis restart of a few seconds is ridden out. `assertHeld` is the
 * fence every write checks first (git commit, revert, results.tsv row): the key must still hold this
 * planner's token, or, when Redis cannot be reached, the TTL of the last renewal must not have run out.
 */
export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
  readonly exitCode = 1;
}

/** `run` and `experiment` exit with this when they stop because the lease was lost (sysexits' EX_TEMPFAIL). */
export const LEASE_LOST_EXIT_CODE = 75;

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly exitCode = LEASE_LOST_EXIT_CODE;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class PlannerLease {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;
  private failures = 0;
  /** No other planner can hold the key before this instant: the start of the last successful renewal + TTL. */
  private heldUntil: number;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly token: string,
    private readonly ttlMs: number,
    private readonly log: Pick<Logger, 'warn' | 'info' | 'error'> | null,
    acquiredAt: number,
  ) {
    this.heldUntil = acquiredAt + ttlMs;
  }

  /** Aborted when the lease is lost; the reason is a LeaseLostError saying why. */
  get lost(): AbortSignal {
    return this.controller.signal;
  }

  static async acquire(redis: Redis, key: string, ttlMs: number, log?: Pick<Logger, 'warn' | 'info' | 'error'>): Promise<PlannerLease> {
    const token = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const started = Date.now();
    const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') {
      const holder = await redis.get(key);
      const left = await redis.pttl(key);
      throw new LeaseHeldError(
        `another planner holds the lease ${key} (${holder ?? 'unknown'}, ${Math.max(0, Math.round(left / 1000))} s left); ` +
          'only one `autoresearch run` may plan at a time. If that planner is dead, its lease expires by itself.',
      );
    }
    const lease = new PlannerLease(redis, key, token, ttlMs, log ?? null, started);
    lease.timer = setInterval(() => void lease.renew(), Math.max(100, Math.floor(ttlMs / 3)));
    lease.timer.unref();
    return lease;
  }

  /**
   * The fence: resolves only while this planner certainly holds the lease. Renews it on the way (one atomic
   * compare-and-extend), so a check is also a renewal.
   */
  async assertHeld(): Promise<void> {
    if (this.lost.aborted) throw this.lost.reason as Error;
    if (!(await this.tryRenew())) throw this.lost.reason as Error;
  }

  private async renew(): Promise<void> {
    if (this.renewing) {
      // A renewal hanging on a dead connection must not outlive the TTL unnoticed.
      if (Date.now() >= this.heldUntil) this.lose(this.expired('Redis did not answer'));
      return;
    }
    await this.tryRenew();
  }

  /** True while held; false once lost (and `lost` is aborted with the reason). */
  private async tryRenew(): Promise<boolean> {
    this.renewing = true;
    const started = Date.now();
    try {
      const ok = await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs));
      if (ok !== 1) {
        const holder = await this.redis.get(this.key).catch(() => null);
        this.lose(
          new LeaseLostError(
            `the planner lease ${this.key} was lost: Redis holds ${holder ? `another planner's token (${holder})` : 'no lease'} ` +
              `instead of this planner's (${this.token}); it expired or was taken over`,
          ),
        );
        return false;
      }
      if (this.failures > 0) this.log?.info({ key: this.key, failedRenewals: this.failures }, 'planner lease renewed: Redis answers again');
      this.failures = 0;
      this.heldUntil = Math.max(this.heldUntil, started + this.ttlMs);
      return true;
    } catch (error) {
      this.failures += 1;
      const left = this.heldUntil - Date.now();
      const why = (error as Error).message;
      if (left <= 0) {
        this.lose(this.expired(why));
        return false;
      }
      this.log?.warn({ key: this.key, err: why, msLeft: left }, 'could not renew the planner lease; it stays held until its TTL runs out, retrying');
      return true;
    } finally {
      this.renewing = false;
    }
  }

  private expired(why: string): LeaseLostError {
    return new LeaseLostError(`could not renew the planner lease ${this.key} within its ${this.ttlMs / 1000} s TTL (${why}); another planner may hold it now`);
  }

  private lose(reason: LeaseLostError): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.controller.signal.aborted) {
      this.log?.error({ key: this.key }, reason.message);
      this.controller.abort(reason);
    }
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
