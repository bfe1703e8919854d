import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { JobSpan, WorkKind } from '../src/fleet/timeline.js';
import { GPU_QUEUES, type QueueName } from './names.js';

/**
 * A job's timing as BullMQ keeps it in the job's hash: `timestamp` (queued), `processedOn` (this attempt
 * started), `finishedOn`, and `pb` (processedBy), the name of the Worker that took it: workers/run.ts names
 * every Worker `<machine>/<role>/<queue>` and BullMQ 6.7's moveToActive stores it. Anything in Redis is
 * outside input, so the raw fields are parsed here before the timeline believes them.
 */
const epochMs = z.string().regex(/^\d{1,15}$/, { error: 'expected epoch milliseconds' }).transform(Number).pipe(z.number().int().positive());
const jobHashSchema = z.object({
  timestamp: epochMs,
  processedOn: epochMs,
  finishedOn: epochMs.optional(),
  pb: z.string().regex(/^[^/\s]+\//, { error: 'expected a worker name <machine>/<role>/<queue>' }),
  data: z.string().optional(),
});
/** The hash fields read per job: only what the timeline needs, not the payload's results. */
export const JOB_FIELDS = ['timestamp', 'processedOn', 'finishedOn', 'pb', 'data'] as const;

const KIND: Partial<Record<QueueName, WorkKind>> = { 'train-full': 'training', 'train-proxy': 'training', eval: 'evaluation' };

export interface ReadSpans {
  spans: JobSpan[];
  /** Jobs of the night whose record is unusable (no start, no worker name, malformed numbers), with why. */
  skipped: string[];
}

const kind = (queue: QueueName): WorkKind | undefined => KIND[queue];

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function experimentIdOf(data: string | undefined): string | null {
  if (data === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(data);
    const id = parsed && typeof parsed === 'object' ? (parsed as { experimentId?: unknown }).experimentId : undefined;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** One job's hash fields (as HMGET returns them, absent ones null) as a span, or why not. Exported for its test. */
export function spanOf(queue: QueueName, jobId: string, fields: Partial<Record<(typeof JOB_FIELDS)[number], string | null>>, outcome: JobSpan['outcome']): JobSpan | string {
  const kind = KIND[queue];
  if (!kind) return `${queue} is not a GPU queue`;
  const present = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));
  if (outcome === 'running') delete present.finishedOn;
  const parsed = jobHashSchema.safeParse(present);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  const t = parsed.data;
  if (outcome !== 'running' && t.finishedOn === undefined) return 'finishedOn: missing on a finished job';
  return {
    queue,
    jobId,
    experimentId: experimentIdOf(t.data),
    kind,
    machine: t.pb.split('/')[0]!,
    queuedAt: t.timestamp,
    startedAt: t.processedOn,
    finishedAt: t.finishedOn ?? null,
    outcome,
  };
}

/**
 * Where a worker records an attempt it handed back to `wait` (preempted by a full-mode evaluation, or stopped by a
 * shutdown): BullMQ overwrites the attempt's start when the job runs again and keeps no end for it, yet the GPU
 * was busy. A sorted set per queue, next to BullMQ's own keys, scored by the attempt's end.
 */
export function handedBackKey(queueQualifiedName: string): string {
  return `${queueQualifiedName}:handed-back`;
}

/** How many handed-back attempts a queue keeps (the newest). */
const HANDED_BACK_KEEP = 2_000;

const handedBackSchema = z.strictObject({
  jobId: z.string(),
  experimentId: z.string().nullable(),
  machine: z.string().min(1),
  queuedAt: z.number().int().positive(),
  startedAt: z.number().int().positive(),
  finishedAt: z.number().int().positive(),
});
export type HandedBackAttempt = z.infer<typeof handedBackSchema>;

/** Records one handed-back attempt (workers call it just before moving the job back to `wait`). */
export async function recordHandedBack(redis: Redis, queueQualifiedName: string, attempt: HandedBackAttempt): Promise<void> {
  const key = handedBackKey(queueQualifiedName);
  await redis.multi().zadd(key, attempt.finishedAt, JSON.stringify(handedBackSchema.parse(attempt))).zremrangebyrank(key, 0, -HANDED_BACK_KEEP - 1).exec();
}

/**
 * The GPU jobs running now or finished since `since` (epoch ms), at most `limit` finished ones per queue and
 * state, newest first. BullMQ scores its completed and failed sets by finishedOn, so the night is one range
 * query; only the timing fields are read. Attempts a worker handed back to `wait` (preempted, or a shutdown) are
 * read from where the worker recorded them (recordHandedBack); an attempt lost to a stall leaves no record.
 */
export async function readJobSpans(redis: Redis, queues: readonly Queue[], since: number, limit = 500): Promise<ReadSpans> {
  const spans: JobSpan[] = [];
  const skipped: string[] = [];
  for (const queue of queues) {
    const name = queue.name as QueueName;
    if (!GPU_QUEUES.includes(name)) continue;
    const finished = (key: string) => redis.zrevrangebyscore(key, '+inf', since, 'LIMIT', 0, limit);
    const states: Array<[JobSpan['outcome'], string[]]> = [
      ['running', await redis.lrange(queue.toKey('active'), 0, limit - 1)],
      ['completed', await finished(queue.toKey('completed'))],
      ['failed', await finished(queue.toKey('failed'))],
    ];
    for (const member of await finished(handedBackKey(queue.qualifiedName))) {
      const parsed = handedBackSchema.safeParse(safeJson(member));
      if (!parsed.success) skipped.push(`${name} handed-back attempt: ${parsed.error.issues[0]?.message}`);
      else if (kind(name)) spans.push({ queue: name, kind: kind(name)!, outcome: 'handed-back', ...parsed.data });
    }
    for (const [outcome, ids] of states) {
      if (ids.length === 0) continue;
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmget(queue.toKey(id), ...JOB_FIELDS);
      const replies = (await pipeline.exec()) ?? [];
      ids.forEach((id, i) => {
        const [error, values] = replies[i] ?? [new Error('no reply'), null];
        const row = error ? null : (values as Array<string | null>);
        // A job removed between the listing and the read has an empty hash: it is simply gone.
        if (!row || row.every((v) => v === null)) return;
        const span = spanOf(name, id, Object.fromEntries(JOB_FIELDS.map((f, j) => [f, row[j] ?? null])), outcome);
        if (typeof span === 'string') skipped.push(`${name}/${id}: ${span}`);
        else spans.push(span);
      });
    }
  }
  return { spans, skipped };
}
