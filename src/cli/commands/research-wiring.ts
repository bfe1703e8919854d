import type { Redis } from 'ioredis';
import { createFleetExecutor } from '../../../queues/executor.js';
import { chooseMode } from '../../../queues/routing.js';
import { loadCouncil } from '../../council/load.js';
import { readPresence } from '../../fleet/presence.js';
import { claudePlanner } from '../../planner/claude.js';
import { CostMeter } from '../../planner/cost.js';
import { hybridPlanner } from '../../planner/hybrid.js';
import { recentMemoryEvents } from '../../planner/memory-events.js';
import { loadProgram } from '../../planner/program.js';
import { sectionValidator } from '../../planner/proposal.js';
import { oneShotSampler } from '../../planner/sampler-process.js';
import { samplerPlanner, type SamplerPlannerOptions } from '../../planner/sampler.js';
import type { Planner } from '../../planner/types.js';
import { producerConnection } from '../../redis/connections.js';
import type { Mode, RequestedMode, SectionValues } from '../../research/executor.js';
import { searchSpace, type SearchSpace } from '../../research/hyperparameters.js';
import { GitLedger } from '../../research/ledger.js';
import type { LoopDeps } from '../../research/loop-deps.js';
import { readSection, SectionError, writeSection } from '../../research/section.js';
import { redisFor, type CommandContext } from '../context.js';
import { onCleanup } from '../lifecycle.js';

function samplerOptions(ctx: CommandContext, agents: readonly string[]): SamplerPlannerOptions {
  const { planner } = ctx.config;
  return { sampler: planner.sampler, seed: planner.seed, thresholds: ctx.config.council.thresholds, validate: sectionValidator(agents), client: oneShotSampler() };
}

/** `auto`: the hybrid planner when ANTHROPIC_API_KEY is set, the offline sampler otherwise. */
export function choosePlanner(ctx: CommandContext, agents: readonly string[], redis: Redis): Planner {
  const { planner } = ctx.config;
  const key = ctx.config.secrets.anthropicApiKey;
  const kind = planner.kind === 'auto' ? (key ? 'hybrid' : 'offline') : planner.kind;
  if (kind === 'offline') return samplerPlanner(samplerOptions(ctx, agents));
  if (!key) throw new Error(`planner.kind is "${kind}" but ANTHROPIC_API_KEY is not set; export it, or set planner.kind: offline`);
  const specs = searchSpace().table.parameters;
  const claude = claudePlanner({
    apiKey: key,
    model: planner.model,
    maxTokens: planner.maxTokens,
    timeoutMs: planner.requestTimeoutMs,
    maxRetries: planner.maxRetries,
    program: loadProgram(specs),
    validate: sectionValidator(agents),
    pricing: { inputUsdPerMTok: planner.inputUsdPerMTok, outputUsdPerMTok: planner.outputUsdPerMTok },
    meter: new CostMeter(redis, ctx.config.redis.prefix, planner.maxCostUsdPerNight),
    log: ctx.log.child({ part: 'planner' }),
  });
  if (kind === 'claude') return claude;
  return hybridPlanner({
    sampler: samplerOptions(ctx, agents),
    claude,
    claudeShare: planner.hybrid.claudeShare,
    candidates: planner.hybrid.candidates,
    memoryEvents: (context) => recentMemoryEvents(ctx.config.paths.memoryEvents, context.history),
    log: ctx.log.child({ part: 'planner' }),
  });
}

/** Everything the loop needs, built from the config; closed when the command ends. */
export async function loopDeps(ctx: CommandContext, options: { planner: boolean }): Promise<LoopDeps> {
  const { config } = ctx;
  const url = await redisFor(ctx);
  const agents = loadCouncil(config.council.dir).agents.map((a) => a.id);
  const redis = producerConnection(url, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  onCleanup(() => redis.disconnect());
  const executor = createFleetExecutor(config, url, { log: ctx.log.child({ part: 'executor' }) });
  onCleanup(() => executor.close());
  const ledger = await GitLedger.open(config.paths.repo, config.run.branch);
  const prefix = config.redis.prefix;
  return {
    planner: options.planner ? choosePlanner(ctx, agents, redis) : samplerPlanner(samplerOptions(ctx, agents)),
    section: {
      read: (source, space) => sectionIn(space, () => readSection(source, agents, space.table) as unknown as SectionValues),
      write: (source, values, space) => sectionIn(space, () => writeSection(source, values, agents, space.table)),
    },
    spaces: { proxy: searchSpace(config.models.proxy.searchSpace), full: searchSpace(config.models.full.searchSpace) },
    redis,
    redisPrefix: prefix,
    leaseTtlMs: config.run.leaseTtlMs,
    resolveMode: (requested: RequestedMode) => resolveMode(redis, prefix, requested),
    models: { proxy: config.models.proxy.model, full: config.models.full.model },
    budgets: config.models,
    pickupDeadlineMs: config.fleet.pickupDeadlineMs,
    evalAllowanceSeconds: config.run.evalAllowanceSeconds,
    resultsPath: config.paths.results,
    memoryEventsDir: config.paths.memoryEvents,
    artifacts: config.paths,
    keepDiscardedAdapters: config.run.keepDiscardedAdapters,
    agents,
    thresholds: config.council.thresholds,
    noiseGuard: config.council.noiseGuard,
    ledger,
    executor,
    log: ctx.log,
    now: () => new Date(),
    onProgress: (p) => ctx.log.debug({ progress: p }, 'progress'),
    concurrency: { maxInFlight: config.run.maxInFlight, liveWorkers: async () => (await readPresence(redis, prefix)).live },
  };
}

/** A section problem names the search space's file, where the allowed values are written. */
function sectionIn<T>(space: SearchSpace, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof SectionError) throw new SectionError(`${error.message} (search space ${space.name}: ${space.file})`);
    throw error;
  }
}

export async function resolveMode(redis: Redis, prefix: string, requested: RequestedMode): Promise<{ mode: Mode; reason: string }> {
  if (requested !== 'auto') return { mode: requested, reason: 'requested' };
  return chooseMode(requested, (await readPresence(redis, prefix)).live);
}
