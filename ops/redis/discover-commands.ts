/**
 * Re-derives the Redis commands BullMQ (and bull-board) send, for the worker ACL in ./acl.ts. BullMQ publishes
 * no such list (OptimalBits/bull#2534, taskforcesh/bullmq#4757), so this runs a broad real workload against a
 * throwaway redis-server under MONITOR and prints every command seen, scripts' inner calls included.
 * Run it after upgrading BullMQ and compare with WORKER_COMMANDS:
 *
 *   node bin/run-ts.js ops/redis/discover-commands.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FlowProducer, Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../src/redis/server-process.js';
import { WORKER_COMMANDS } from './acl.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const CONTAINERS = new Set(['client', 'script', 'config', 'object', 'memory', 'xinfo', 'function', 'cluster', 'command', 'acl']);

/** `EVALSHA abc ...` → `evalsha`; container commands keep their subcommand, as ACL rules name them: `client|setname`. */
function commandOf(args: string[]): string | null {
  const name = args[0]?.toLowerCase();
  if (!name) return null;
  return CONTAINERS.has(name) && args[1] ? `${name}|${args[1].toLowerCase()}` : name;
}

async function workload(url: string, prefix: string): Promise<void> {
  const connection = { url, maxRetriesPerRequest: null } as const;
  const queue = new Queue('discover', { connection, prefix });
  const events = new QueueEvents('discover', { connection, prefix });
  const flows = new FlowProducer({ connection, prefix });
  await events.waitUntilReady();
  let attemptsSeen = 0;
  const worker = new Worker(
    'discover',
    async (job: Job) => {
      await job.updateProgress({ iteration: 1, iters: 2 });
      await job.log('training step');
      await job.extendLock(job.token ?? '', 30_000);
      if (job.name === 'flaky' && job.attemptsMade === 0) {
        attemptsSeen += 1;
        throw new Error('first attempt fails');
      }
      if (job.name === 'fatal') throw new UnrecoverableError('never retried');
      await job.updateData({ ...job.data, touched: true });
      return { ok: true };
    },
    { connection, prefix, concurrency: 1, lockDuration: 5_000, stalledInterval: 1_000, name: 'discover-worker' },
  );
  await worker.waitUntilReady();

  const plain = await queue.add('plain', { n: 1 }, { removeOnComplete: { count: 10 }, removeOnFail: { count: 10 } });
  const flaky = await queue.add('flaky', { n: 2 }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
  const fatal = await queue.add('fatal', { n: 3 }, { attempts: 3 });
  await queue.addBulk([{ name: 'bulk', data: { n: 4 }, opts: { priority: 2 } }, { name: 'bulk', data: { n: 5 }, opts: { lifo: true } }]);
  const delayed = await queue.add('delayed', { n: 6 }, { delay: 60_000, jobId: 'delayed-1' });
  await queue.add('dedup', { n: 7 }, { deduplication: { id: 'same' } });
  await queue.add('dedup', { n: 8 }, { deduplication: { id: 'same' } });
  await plain.waitUntilFinished(events, 10_000);
  await flaky.waitUntilFinished(events, 10_000);
  await fatal.waitUntilFinished(events, 10_000).catch(() => undefined);

  await delayed.changeDelay(30_000);
  await delayed.promote();
  await (await queue.getJob('delayed-1'))?.waitUntilFinished(events, 10_000);
  await fatal.retry('failed');
  await fatal.waitUntilFinished(events, 10_000).catch(() => undefined);
  await flows.add({ name: 'parent', queueName: 'discover', data: {}, children: [{ name: 'child', queueName: 'discover', data: {} }] });

  await queue.getJobCounts();
  await queue.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed'], 0, 20);
  await queue.getJobLogs(plain.id ?? '');
  await queue.getWorkers();
  await queue.getMetrics('completed');
  await queue.isPaused();
  await queue.pause();
  await queue.resume();
  await (await queue.getJob(plain.id ?? ''))?.getState();
  await queue.getRateLimitTtl();
  const board = new BullMQAdapter(queue);
  await board.getRedisInfo();
  await board.getJobCounts();
  await board.getWorkers();
  await board.getJobs(['completed', 'failed']);

  const removable = await queue.add('removable', {}, { delay: 60_000 });
  await removable.remove();
  await queue.clean(0, 100, 'completed');
  await worker.close();
  await queue.drain(true);
  await queue.obliterate({ force: true });
  await Promise.all([events.close(), flows.close(), queue.close()]);
  if (attemptsSeen !== 1) throw new Error('the retry path did not run');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-discover-'));
  const server = await startRedisServer({ port: await freePort(), dataDir, extraArgs: ['--appendonly', 'no'] });
  const seen = new Set<string>();
  const client = new Redis(server.url);
  const monitor = await client.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    const name = commandOf(args);
    if (name) seen.add(name);
  });
  try {
    await workload(server.url, 'discover');
  } finally {
    monitor.disconnect();
    client.disconnect();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const allowed = new Set<string>(WORKER_COMMANDS);
  const observed = [...seen].sort();
  process.stdout.write(`observed ${observed.length} commands:\n${observed.join(' ')}\n`);
  const missing = observed.filter((c) => !allowed.has(c) && !allowed.has(c.split('|')[0] ?? ''));
  process.stdout.write(missing.length ? `NOT in WORKER_COMMANDS: ${missing.join(' ')}\n` : 'all are in WORKER_COMMANDS\n');
  process.exitCode = missing.length ? 1 : 0;
}

await main();
