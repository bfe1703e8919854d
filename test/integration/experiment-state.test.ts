import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ExperimentStore } from '../../queues/experiment-state.js';
import type { ExperimentRequest } from '../../src/research/executor.js';
import { uniquePrefix } from '../support/redis.js';

const request = (experimentId: string): ExperimentRequest =>
  ({ experimentId, kind: 'experiment', mode: 'proxy', commit: 'abc1234', values: { LORA_RANK: 8 } }) as ExperimentRequest;

describe('experiment records in Redis', () => {
  const redis = new Redis(inject('redisUrl'));
  const prefix = uniquePrefix('state');
  const store = new ExperimentStore(redis, prefix);
  afterAll(() => redis.disconnect());

  it('creates a record in one atomic command, never as a request without a stage', async () => {
    const monitorClient = new Redis(inject('redisUrl'));
    const monitor = await monitorClient.monitor();
    const sent: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // Commands a client sent (Lua's inner calls report "lua" as their source) that name this experiment.
      if (source !== 'lua' && args.some((a) => a.includes(`${prefix}:experiment:exp-one`))) sent.push(args);
    });
    try {
      expect(await store.create(request('exp-one'), { mode: 'proxy', modeReason: 'test', model: 'tiny' })).toBe(true);
      await redis.ping();
      await monitorClient.ping();
    } finally {
      monitor.disconnect();
      monitorClient.disconnect();
    }
    expect(sent.map((args) => args[0]!.toLowerCase())).toEqual(['eval']);
    const record = await store.read('exp-one');
    expect(record).toMatchObject({ stage: 'enqueueing', mode: 'proxy', model: 'tiny' });
    expect(await store.pendingIds()).toEqual(['exp-one']);
  });

  it('creates once: a second create changes nothing', async () => {
    expect(await store.create(request('exp-two'), { mode: 'proxy', modeReason: 'first', model: 'tiny' })).toBe(true);
    expect(await store.create(request('exp-two'), { mode: 'full', modeReason: 'second', model: 'big' })).toBe(false);
    expect(await store.read('exp-two')).toMatchObject({ mode: 'proxy', modeReason: 'first' });
  });
});
