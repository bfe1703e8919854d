import type { Command } from 'commander';
import { loadConfig, type Config } from '../config/load.js';
import { ensureRedis } from '../redis/ensure.js';
import { logger, type Logger } from '../log.js';
import { onCleanup, shutdownSignal } from './lifecycle.js';

/** What every command gets: the config parsed once at the edge, a logger, and the shutdown signal. */
export interface CommandContext {
  config: Config;
  log: Logger;
  signal: AbortSignal;
}

export function commandContext(command: Command, component: string): CommandContext {
  const { config: file } = command.optsWithGlobals<{ config?: string }>();
  return { config: loadConfig({ file }), log: logger(component), signal: shutdownSignal };
}

/** Redis for this command; an embedded server it had to start is stopped when the command ends. */
export async function redisFor(ctx: CommandContext): Promise<string> {
  const lease = await ensureRedis(ctx.config, ctx.log);
  onCleanup(() => lease.release());
  return lease.url;
}
