import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { parsePayload, type JobPayloads } from './contracts.js';
import { QUEUES, type QueueName } from './names.js';

export interface QueueSettings {
  prefix: string;
  /** Attempts per training or eval job. */
  attempts: number;
}

/** Completed jobs stay a month so that a re-submitted experiment id stays a no-op and bull-board shows history. */
const KEEP = { age: 30 * 24 * 3600, count: 5_000 };

export function jobDefaults(queue: QueueName, settings: QueueSettings): JobsOptions {
  if (queue === 'route') {
    return { attempts: 20, backoff: { type: 'fixed', delay: 5_000 }, removeOnComplete: KEEP, removeOnFail: KEEP };
  }
  return {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: KEEP,
    removeOnFail: KEEP,
  };
}

/** Producer handles on every queue; the connection is shared and owned by the caller. */
export class FleetQueues {
  private readonly queues: Map<QueueName, Queue>;

  constructor(
    connection: Redis,
    private readonly settings: QueueSettings,
    /** Connection errors during an outage; the connection's owner decides how loud they are. */
    onError: (error: Error) => void = () => undefined,
  ) {
    this.queues = new Map(
      QUEUES.map((name) => {
        const queue = new Queue(name, { connection, prefix: settings.prefix });
        queue.on('error', onError);
        return [name, queue];
      }),
    );
  }

  get(name: QueueName): Queue {
    return this.queues.get(name)!;
  }

  /** Validates the payload, then adds it under `jobId` (a no-op if a job with that id exists). */
  async add<Q extends QueueName>(queue: Q, jobId: string, payload: JobPayloads[Q], options: JobsOptions = {}) {
    const data = parsePayload(queue, payload);
    return this.get(queue).add(queue, data, { ...jobDefaults(queue, this.settings), ...options, jobId });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
