import type { Job, Queue } from 'bullmq';
import { z } from 'zod';
import type { JobSpan, WorkKind } from '../src/fleet/timeline.js';
import { GPU_QUEUES, type QueueName } from './names.js';

/**
 * A job's timing as BullMQ keeps it in Redis: `timestamp` (queued), `processedOn` (this attempt started),
 * `finishedOn`, and `processedBy`, the name of the Worker that took it (workers/run.ts names every Worker
 * `<machine>/<role>/<queue>`, and BullMQ's moveToActive stores it in the job hash as `pb`). Anything in Redis
 * is outside input, so the fields are parsed before the timeline believes them.
 */
const epochMs = z.number().int().positive();
const jobTimingSchema = z.object({
  id: z.string().min(1),
  timestamp: epochMs,
  processedOn: epochMs,
  finishedOn: epochMs.optional(),
  processedBy: z.string().regex(/^[^/\s]+\//, { error: 'expected <machine>/<role>/<queue>' }),
  experimentId: z.string().nullable(),
});

const KIND: Partial<Record<QueueName, WorkKind>> = { 'train-full': 'training', 'train-proxy': 'training', eval: 'evaluation' };

export interface ReadSpans {
  spans: JobSpan[];
  /** Jobs of the night whose record is unusable (no start, no worker name, malformed numbers), by id. */
  skipped: string[];
}

/** One job as a span, or why not. Exported for its test. */
export function spanOf(queue: QueueName, job: Pick<Job, 'id' | 'timestamp' | 'processedOn' | 'finishedOn' | 'processedBy' | 'data'>, outcome: JobSpan['outcome']): JobSpan | string {
  const kind = KIND[queue];
  if (!kind) return `${queue} is not a GPU queue`;
  const data: unknown = job.data;
  const experimentId = data && typeof data === 'object' && typeof (data as { experimentId?: unknown }).experimentId === 'string'
    ? (data as { experimentId: string }).experimentId
    : null;
  const parsed = jobTimingSchema.safeParse({
    id: job.id,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: outcome === 'running' ? undefined : job.finishedOn,
    processedBy: job.processedBy,
    experimentId,
  });
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  const t = parsed.data;
  if (outcome !== 'running' && t.finishedOn === undefined) return 'finishedOn: missing on a finished job';
  return {
    queue,
    jobId: t.id,
    experimentId: t.experimentId,
    kind,
    machine: t.processedBy.split('/')[0]!,
    queuedAt: t.timestamp,
    startedAt: t.processedOn,
    finishedAt: t.finishedOn ?? null,
    outcome,
  };
}

/**
 * The GPU jobs running now or finished since `since` (epoch ms), newest `limit` finished ones per queue and
 * state. Jobs handed back to `wait` (a shutdown, a stall) are not drawn: BullMQ keeps no end for that attempt.
 */
export async function readJobSpans(queues: readonly Queue[], since: number, limit = 500): Promise<ReadSpans> {
  const spans: JobSpan[] = [];
  const skipped: string[] = [];
  for (const queue of queues) {
    const name = queue.name as QueueName;
    if (!GPU_QUEUES.includes(name)) continue;
    const states: Array<[JobSpan['outcome'], Job[]]> = [
      ['running', await queue.getJobs(['active'], 0, limit - 1)],
      ['completed', await queue.getJobs(['completed'], 0, limit - 1)],
      ['failed', await queue.getJobs(['failed'], 0, limit - 1)],
    ];
    for (const [outcome, jobs] of states) {
      for (const job of jobs) {
        // getJobs yields undefined for a job removed between the listing and the read.
        if (!job) continue;
        if (outcome !== 'running' && typeof job.finishedOn === 'number' && job.finishedOn < since) continue;
        const span = spanOf(name, job, outcome);
        if (typeof span === 'string') skipped.push(`${name}/${job.id ?? '?'}: ${span}`);
        else spans.push(span);
      }
    }
  }
  return { spans, skipped };
}
