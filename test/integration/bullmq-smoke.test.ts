import { Queue, QueueEvents, Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { producerConnection, workerConnection } from '../../src/redis/connections.js';
import { uniquePrefix } from '../support/redis.js';

describe('BullMQ on the real redis-server', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  it('enqueues a job and a worker processes it', async () => {
    const url = inject('redisUrl');
    const prefix = uniquePrefix();
    const queue = new Queue('smoke', { connection: producerConnection(url), prefix });
    const events = new QueueEvents('smoke', { connection: workerConnection(url), prefix });
    const worker = new Worker('smoke', async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), {
      connection: workerConnection(url),
      prefix,
    });
    closers.push(() => queue.close(), () => events.close(), () => worker.close());
    await events.waitUntilReady();

    const job = await queue.add('double', { n: 21 });
    const result = await job.waitUntilFinished(events, 10_000);

    expect(result).toEqual({ doubled: 42 });
    expect(await queue.getJobCounts('completed')).toEqual({ completed: 1 });
  });

  it('fails fast on the producer side when Redis is unreachable', async () => {
    const client = producerConnection('redis://127.0.0.1:1', { retryStrategy: () => null });
    client.on('error', () => undefined);
    await expect(client.ping()).rejects.toThrow();
    client.disconnect();
  });
});
