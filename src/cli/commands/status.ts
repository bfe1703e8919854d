import { Command } from 'commander';
import { Queue } from 'bullmq';
import { readPresence } from '../../fleet/presence.js';
import { buildStatus, formatStatus, type QueueView } from '../../fleet/status-view.js';
import { buildTimeline, NIGHT_LOOKBACK_MS } from '../../fleet/timeline.js';
import { probeRedis, producerConnection } from '../../redis/connections.js';
import { EnvironmentError } from '../../errors.js';
import { redact } from '../../redis/ensure.js';
import { readJobSpans } from '../../../queues/job-spans.js';
import { QUEUES } from '../../../queues/names.js';
import { commandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('the fleet right now: machines online or away (since when), queue depths, running jobs with progress, busy share tonight')
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = commandContext(command, 'status');
      const url = ctx.config.redis.url;
      const probe = await probeRedis(url);
      if (!probe.ok) {
        throw new EnvironmentError(`Redis at ${redact(url)} is unreachable (${probe.reason}): is the coordinator (the Mini) up?`);
      }
      const redis = producerConnection(url, { retryStrategy: () => null, lazyConnect: true });
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        const prefix = ctx.config.redis.prefix;
        const presence = await readPresence(redis, prefix);
        const queues: QueueView[] = [];
        const handles = QUEUES.map((name) => new Queue(name, { connection: redis, prefix }));
        for (const queue of handles) {
          const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
          queues.push({
            queue: queue.name,
            waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            failed: c.failed ?? 0,
            completed: c.completed ?? 0,
          });
        }
        const now = new Date();
        // The night's shares are extra: if the job records cannot be read, the rest of the status still prints.
        const timeline = await readJobSpans(redis, handles, now.getTime() - NIGHT_LOOKBACK_MS).then(
          ({ spans }) => buildTimeline(spans, now.getTime(), { machines: presence.live.map((h) => h.machine) }),
          (error: Error) => {
            process.stderr.write(`could not read tonight's job records: ${error.message}\n`);
            return undefined;
          },
        );
        await Promise.all(handles.map((q) => q.close()));
        const view = buildStatus(presence, queues, now, timeline);
        if (options.json) printJson(view);
        else process.stdout.write(`${formatStatus(view, formatTable)}\n`);
      } finally {
        redis.disconnect();
      }
    });
}
