import type { Redis } from 'ioredis';

/** Token usage as the Messages API reports it. */
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

export interface Pricing {
  inputUsdPerMTok: number;
  outputUsdPerMTok: number;
}

/** Cache writes (5-minute TTL) bill at 1.25x the input price and cache reads at 0.1x. */
export function costUsd(usage: TokenUsage, price: Pricing): number {
  const write = usage.cache_creation_input_tokens ?? 0;
  const read = usage.cache_read_input_tokens ?? 0;
  return (
    (usage.input_tokens * price.inputUsdPerMTok +
      write * price.inputUsdPerMTok * 1.25 +
      read * price.inputUsdPerMTok * 0.1 +
      usage.output_tokens * price.outputUsdPerMTok) /
    1_000_000
  );
}

/** The night a moment belongs to: the local date twelve hours earlier, so 02:00 counts toward the evening before. */
export function nightOf(now: Date): string {
  const d = new Date(now.getTime() - 12 * 3600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * Spend per night, kept in Redis so a restarted planner still sees what it already spent tonight. The cap is
 * checked before each call; one call may overshoot it by its own cost, never more.
 */
export class CostMeter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly capUsd: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private key(): string {
    return `${this.prefix}:planner:spend:${nightOf(this.now())}`;
  }

  async spent(): Promise<number> {
    return Number((await this.redis.get(this.key())) ?? 0);
  }

  async add(usd: number): Promise<number> {
    const key = this.key();
    const total = Number(await this.redis.incrbyfloat(key, usd));
    await this.redis.expire(key, 3 * 24 * 3600);
    return total;
  }
}
