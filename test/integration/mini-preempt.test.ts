import { Queue } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { baselineValues, searchSpace } from '../../src/research/hyperparameters.js';
import { readJobSpans } from '../../queues/job-spans.js';
import { jobIds } from '../../queues/names.js';
import { until } from '../support/fleet-harness.js';
import { startNight, type Night } from '../support/night-harness.js';
import { gitIn } from '../support/temp-repo.js';

const nights: Night[] = [];
afterEach(async () => {
  while (nights.length) await nights.pop()!.close();
});

describe('priorities on the Mini', () => {
  it('a full-mode evaluation preempts a running proxy training, which goes back to its queue and is trained again; a proxy evaluation does not', async () => {
    const n = await startNight({ redisUrl: inject('redisUrl'), timing: { fullMs: 2_000, proxyMs: 8_000, evalMs: 500 }, maxInFlight: 'auto', label: 'preempt' });
    nights.push(n);
    const mini = await n.start('mini');
    const commit = gitIn(n.repo, 'rev-parse', 'HEAD').trim();
    const values = { ...baselineValues(n.deps.agents, searchSpace(n.config.models.proxy.searchSpace).table), ITERS: 50, EXPERIMENT_HYPOTHESIS: 'preempt drill' };
    const proxyQueue = new Queue('train-proxy', { connection: n.redis, prefix: n.prefix });
    const evalQueue = new Queue('eval', { connection: n.redis, prefix: n.prefix });
    try {
      const waitDone = (id: string) => n.executor.wait(id, {});
      await n.executor.submit({ experimentId: 'exp-proxy', kind: 'experiment', mode: 'proxy', commit, values });
      const proxyDone = waitDone('exp-proxy');
      const trainId = jobIds.train('exp-proxy', 'proxy');
      await until('the proxy training to run', async () => (await proxyQueue.getJob(trainId))?.progress && (await (await proxyQueue.getJob(trainId))!.getState()) === 'active', 30_000);

      // A proxy-mode baseline's evaluation waits for the training: no preemption.
      await n.executor.submit({ experimentId: 'base-proxy', kind: 'baseline', mode: 'proxy', commit, values, championAdapterSha256: null });
      const proxyBase = waitDone('base-proxy');
      // A full-mode baseline's evaluation takes the GPU from it.
      await n.executor.submit({ experimentId: 'base-full', kind: 'baseline', mode: 'full', commit, values, championAdapterSha256: null });
      const fullBase = await waitDone('base-full');
      expect(fullBase.eval).not.toBeNull();
      const [proxy, base] = await Promise.all([proxyDone, proxyBase]);
      expect(proxy.training?.status).toBe('ok');
      expect(base.eval).not.toBeNull();

      const train = (await proxyQueue.getJob(trainId))!;
      const fullEval = (await evalQueue.getJob(jobIds.eval('base-full')))!;
      const proxyEval = (await evalQueue.getJob(jobIds.eval('base-proxy')))!;
      // The full evaluation finished before the proxy training did, which was started twice (handed back once,
      // spending no attempt: it succeeded on its first counted attempt).
      expect(fullEval.finishedOn!).toBeLessThan(train.finishedOn!);
      expect(train.attemptsStarted).toBe(2);
      expect(train.attemptsMade).toBe(1);
      expect(mini.output()).toMatch(/handing the running proxy training back to its queue/);
      expect(mini.output().match(/handing the running proxy training back/g)).toHaveLength(1);
      // The proxy evaluation ran after a training had given up the GPU, never by preempting it.
      expect(proxyEval.finishedOn!).toBeGreaterThan(fullEval.finishedOn!);
      // The timeline keeps the attempt that was handed back (BullMQ overwrote its start): on the Mini, before the
      // full evaluation ended, next to the attempt that completed.
      const { spans } = await readJobSpans(n.redis, [proxyQueue], 0);
      const attempts = spans.filter((s) => s.jobId === trainId).sort((a, b) => a.startedAt - b.startedAt);
      expect(attempts.map((s) => [s.outcome, s.machine, s.experimentId])).toEqual([
        ['handed-back', 'mini', 'exp-proxy'],
        ['completed', 'mini', 'exp-proxy'],
      ]);
      expect(attempts[0]!.finishedAt!).toBeLessThanOrEqual(fullEval.finishedOn!);
      expect(attempts[0]!.finishedAt!).toBeLessThanOrEqual(attempts[1]!.startedAt);
    } finally {
      await proxyQueue.close();
      await evalQueue.close();
    }
  });
});
