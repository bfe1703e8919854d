import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { execa, type ResultPromise } from 'execa';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionUrl } from '../../ops/redis/url.js';
import { writeLanSetup, type LanSetup } from '../../ops/redis/setup.js';
import { readPresence, startHeartbeat } from '../../src/fleet/presence.js';
import { probeRedis, workerConnection } from '../../src/redis/connections.js';
import { PlannerLease } from '../../src/research/lease.js';
import type { ExperimentRequest } from '../../src/research/executor.js';
import { ExperimentStore } from '../../queues/experiment-state.js';
import { freePort } from '../../src/net/free-port.js';

/** A separate redis-server started with exactly the files `autoresearch redis setup` writes. */
describe('Redis for two machines: the generated ACL on a real redis-server', () => {
  const state = mkdtempSync(join(tmpdir(), 'autoresearch-acl-'));
  let server: ResultPromise;
  let setup: LanSetup;
  let port: number;
  const clients: Redis[] = [];
  const url = (user: { username: string; password: string }) =>
    connectionUrl({ host: '127.0.0.1', port, username: user.username, password: user.password });
  const client = (u: string) => {
    const c = new Redis(u, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  /** ioredis reports an AUTH refusal as an 'error' event and then rejects connect() with "Connection is closed". */
  const connectError = async (u: string): Promise<string> => {
    const c = client(u);
    const seen: string[] = [];
    c.on('error', (e: Error) => seen.push(e.message));
    await c.connect().catch((e: Error) => seen.push(e.message));
    return seen.join(' | ');
  };

  beforeAll(async () => {
    port = await freePort();
    const written = writeLanSetup({ stateDir: state, prefix: 'fleet', lanAddress: null, port, rotate: false });
    setup = written.setup;
    // A short busy threshold so the looping-script drill answers BUSY after 0.2 s instead of 5 s.
    server = execa('redis-server', [written.files.conf, '--appendonly', 'no', '--busy-reply-threshold', '200'], { stdio: 'ignore', reject: false });
    const worker = url(setup.mini);
    for (let i = 0; ; i++) {
      if ((await probeRedis(worker, 500)).ok) break;
      if (i > 200) throw new Error('the ACL redis-server did not come up');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    server.kill('SIGTERM');
    await server;
    rmSync(state, { recursive: true, force: true });
  });

  it("upgrades a one-user set-up: the Mini keeps its password, the laptop gets a user of its own", () => {
    const old = mkdtempSync(join(tmpdir(), 'autoresearch-acl-old-'));
    try {
      const creds = join(old, 'redis-lan', 'credentials.json');
      mkdirSync(join(old, 'redis-lan'), { recursive: true });
      const worker = { username: 'autoresearch', password: 'the-old-worker-password-0123' };
      writeFileSync(creds, JSON.stringify({ lanAddress: null, port: 6390, prefix: 'fleet', worker, admin: { username: 'admin', password: 'the-old-admin-password-0123' } }));
      const { setup: upgraded } = writeLanSetup({ stateDir: old, prefix: 'fleet', lanAddress: null, port: 6390, rotate: false });
      expect(upgraded.mini).toEqual(worker);
      expect(upgraded.mbp.username).toBe('autoresearch-mbp');
      expect(upgraded.mbp.password).not.toBe(worker.password);
      expect(JSON.parse(readFileSync(creds, 'utf8')).mbp).toEqual(upgraded.mbp);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('keeps the passwords out of the ACL file and the secrets private', () => {
    const files = join(state, 'redis-lan');
    const acl = readFileSync(join(files, 'users.acl'), 'utf8');
    expect(acl).not.toContain(setup.mini.password);
    expect(acl).toMatch(/^user default reset off$/m);
    expect(statSync(join(files, 'credentials.json')).mode & 0o077).toBe(0);
    expect(statSync(join(files, 'users.acl')).mode & 0o077).toBe(0);
  });

  it("runs a BullMQ queue end to end as the Mini's user", async () => {
    const connection = { url: url(setup.mini), maxRetriesPerRequest: null } as const;
    const queue = new Queue('acl-e2e', { connection, prefix: 'fleet' });
    const events = new QueueEvents('acl-e2e', { connection, prefix: 'fleet' });
    const worker = new Worker(
      'acl-e2e',
      async (job) => {
        await job.updateProgress({ iteration: 1 });
        await job.log('step');
        if (job.attemptsMade === 0) throw new Error('first attempt fails, to exercise the retry path');
        return { doubled: (job.data as { n: number }).n * 2 };
      },
      { connection, prefix: 'fleet', name: 'acl-worker' },
    );
    const errors: Error[] = [];
    worker.on('error', (e) => errors.push(e));
    try {
      await events.waitUntilReady();
      await worker.waitUntilReady();
      const job = await queue.add('double', { n: 21 }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
      expect(await job.waitUntilFinished(events, 15_000)).toEqual({ doubled: 42 });
      expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 0 });
      expect((await queue.getWorkers()).length).toBe(1);
      await queue.pause();
      await queue.resume();
      expect(errors).toEqual([]);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it("runs the project's own Redis code as the Mini's user: presence, the planner lease, experiment records, spend counters", async () => {
    const redis = workerConnection(url(setup.mini));
    try {
      await redis.ping();
      const hb = startHeartbeat({ redis, prefix: 'fleet', machine: 'mbp', role: 'mbp', consumes: ['train-full'], intervalMs: 60_000, ttlMs: 60_000 });
      await hb.beat();
      expect((await readPresence(redis, 'fleet')).live.map((h) => h.machine)).toEqual(['mbp']);
      await hb.stop();
      const lease = await PlannerLease.acquire(redis, 'fleet:planner:lease', 30_000);
      await lease.release();
      const records = new ExperimentStore(redis, 'fleet');
      const request = { experimentId: 'x', kind: 'baseline', mode: 'proxy', commit: 'abc1234', values: {} } as unknown as ExperimentRequest;
      expect(await records.create(request, { mode: 'proxy', modeReason: 'test', model: 'tiny' })).toBe(true);
      expect(await records.compareAndSet('x', { stage: 'enqueueing' }, { stage: 'done' })).toBe(true);
      expect(Number(await redis.incrbyfloat('fleet:planner:spend:test', 0.25))).toBe(0.25);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses a wrong password and the default user', async () => {
    expect(await connectError(url({ username: setup.mini.username, password: 'not-the-password-at-all' }))).toMatch(/WRONGPASS/);
    const anonymous = new Redis(port, '127.0.0.1', { enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    anonymous.on('error', () => undefined);
    clients.push(anonymous);
    await expect(anonymous.get('fleet:x')).rejects.toThrow(/NOAUTH/);
    expect(await connectError(`redis://default:anything-long-enough@127.0.0.1:${port}`)).toMatch(/WRONGPASS/);
  });

  it("denies the Mini's user dangerous commands, keys outside its prefix, and the same through Lua", async () => {
    const c = client(url(setup.mini));
    await c.connect();
    await expect(c.flushall()).rejects.toThrow(/NOPERM/);
    await expect(c.flushdb()).rejects.toThrow(/NOPERM/);
    await expect(c.config('GET', 'dir')).rejects.toThrow(/NOPERM/);
    await expect(c.keys('*')).rejects.toThrow(/NOPERM/);
    await expect(c.call('SHUTDOWN', 'NOSAVE')).rejects.toThrow(/NOPERM/);
    await expect(c.call('CLIENT', 'KILL', 'TYPE', 'normal')).rejects.toThrow(/NOPERM/);
    await expect(c.set('other:key', '1')).rejects.toThrow(/NOPERM/);
    await expect(c.eval("return redis.call('FLUSHALL')", 0)).rejects.toThrow(/can't run this command/);
    await expect(c.eval("return redis.call('SET', KEYS[1], '1')", 1, 'other:key')).rejects.toThrow(/NOPERM/);
    expect(await c.set('fleet:ok', '1')).toBe('OK');
  });

  it('lets the admin user do maintenance', async () => {
    const admin = client(url(setup.admin));
    await admin.connect();
    expect(await admin.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await admin.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    expect(await admin.config('GET', 'maxmemory')).toEqual(['maxmemory', String(512 * 2 ** 20)]);
    expect(await admin.config('GET', 'protected-mode')).toEqual(['protected-mode', 'yes']);
    expect(await admin.call('ACL', 'WHOAMI')).toBe('admin');
  });

  it("runs the laptop's worker as its own user: the train-full queue end to end and its heartbeat", async () => {
    const mini = { url: url(setup.mini), maxRetriesPerRequest: null } as const;
    const mbp = { url: url(setup.mbp), maxRetriesPerRequest: null } as const;
    const queue = new Queue('train-full', { connection: mini, prefix: 'fleet' });
    const events = new QueueEvents('train-full', { connection: mini, prefix: 'fleet' });
    const worker = new Worker(
      'train-full',
      async (job) => {
        await job.updateProgress({ iteration: 1 });
        await job.log('step');
        if (job.attemptsMade === 0) throw new Error('first attempt fails, to exercise the retry path');
        return { trained: (job.data as { n: number }).n };
      },
      { connection: mbp, prefix: 'fleet', name: 'mbp/mbp/train-full', lockDuration: 5_000, stalledInterval: 1_000 },
    );
    const errors: Error[] = [];
    worker.on('error', (e) => errors.push(e));
    const presence = workerConnection(url(setup.mbp));
    try {
      await events.waitUntilReady();
      await worker.waitUntilReady();
      const job = await queue.add('train', { n: 7 }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
      expect(await job.waitUntilFinished(events, 15_000)).toEqual({ trained: 7 });
      const hb = startHeartbeat({ redis: presence, prefix: 'fleet', machine: 'mbp', role: 'mbp', consumes: ['train-full'], intervalMs: 60_000, ttlMs: 60_000 });
      await hb.beat();
      await hb.stop();
      expect(errors).toEqual([]);
    } finally {
      presence.disconnect();
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it("denies the laptop's user experiment records and results, the other queues, other machines' presence, SCAN and CLIENT LIST", async () => {
    const c = client(url(setup.mbp));
    await c.connect();
    // An experiment's record holds its stage and its eval result: the laptop must not move or write either.
    await expect(c.hset('fleet:experiment:x', 'stage', 'done')).rejects.toThrow(/NOPERM/);
    await expect(c.hset('fleet:experiment:x', 'result', '{}')).rejects.toThrow(/NOPERM/);
    await expect(c.hgetall('fleet:experiment:x')).rejects.toThrow(/NOPERM/);
    await expect(c.eval("return redis.call('HSET', KEYS[1], 'stage', 'done')", 1, 'fleet:experiment:x')).rejects.toThrow(/NOPERM/);
    const evalQueue = new Queue('eval', { connection: { url: url(setup.mbp), maxRetriesPerRequest: 0 }, prefix: 'fleet' });
    try {
      await expect(evalQueue.add('eval', { experimentId: 'x' })).rejects.toThrow(/NOPERM/);
    } finally {
      await evalQueue.close();
    }
    await expect(c.lpush('fleet:train-proxy:wait', 'job')).rejects.toThrow(/NOPERM/);
    await expect(c.set('fleet:fleet:presence:mini:1', '{}')).rejects.toThrow(/NOPERM/);
    await expect(c.incrbyfloat('fleet:planner:spend:x', 100)).rejects.toThrow(/NOPERM/);
    await expect(c.scan('0')).rejects.toThrow(/NOPERM/);
    await expect(c.call('CLIENT', 'LIST')).rejects.toThrow(/NOPERM/);
    await expect(c.flushall()).rejects.toThrow(/NOPERM/);
    expect(await c.set('fleet:train-full:probe', '1')).toBe('OK');
  });

  it('a script that never ends: everyone gets BUSY, the worker users cannot end it, the admin can', async () => {
    const looper = client(url(setup.mbp));
    const other = client(url(setup.mini));
    const admin = client(url(setup.admin));
    await Promise.all([looper.connect(), other.connect(), admin.connect()]);
    // Reads only, so SCRIPT KILL can end it (a script that wrote needs SHUTDOWN NOSAVE; docs/operations.md).
    const looping = looper.eval("local n = 0 while true do n = n + redis.call('EXISTS', KEYS[1]) end", 1, 'fleet:train-full:x').catch((e: Error) => e);
    for (let i = 0; ; i++) {
      const reply = await other.get('fleet:probe').catch((e: Error) => e);
      if (reply instanceof Error && /BUSY/.test(reply.message)) break;
      if (i > 200) throw new Error('Redis never answered BUSY');
      await new Promise((r) => setTimeout(r, 50));
    }
    await expect(other.call('SCRIPT', 'KILL')).rejects.toThrow(/NOPERM|BUSY/);
    expect(await admin.call('SCRIPT', 'KILL')).toBe('OK');
    expect(String(await looping)).toMatch(/killed/i);
    expect(await other.get('fleet:probe')).toBeNull();
  });
});
