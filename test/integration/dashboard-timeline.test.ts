import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { execa } from 'execa';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { artifactStoreFor } from '../../src/fleet/artifact-client.js';
import type { StatusView } from '../../src/fleet/status-view.js';
import { logger } from '../../src/log.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { workerConnection } from '../../src/redis/connections.js';
import { baselineValues } from '../../src/research/hyperparameters.js';
import type { TimelineView } from '../../src/server/timeline-data.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { parsePayload } from '../../queues/contracts.js';
import { jobIds } from '../../queues/names.js';
import { FleetQueues } from '../../queues/queues.js';
import { startWorkerProcess, until, writeDataset, writeMachineConfig, type WorkerProcess } from '../support/fleet-harness.js';
import { uniquePrefix } from '../support/redis.js';
import { launchChromium } from './dashboard-browser.js';

/**
 * The night per machine, drawn from job records that real worker processes left in a real Redis: the Mini
 * trains proxy jobs, the laptop a full job, each with the step trainer (a real child process) in place of
 * MLX; one evaluation runs on a BullMQ Worker named as workers/run.ts names the Mini's (MLX evaluation is
 * too slow here, and the timeline only reads the record).
 */
describe('the night timeline on the dashboard and in `autoresearch status`', () => {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-timeline-'));
  const prefix = uniquePrefix('night');
  const closers: Array<() => Promise<unknown>> = [];
  const workers: WorkerProcess[] = [];
  let miniFile: string;
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    const url = inject('redisUrl');
    // One state folder: the two "machines" share this host, its artifact store and its GPU lease.
    const state = join(root, 'state');
    miniFile = writeMachineConfig(join(root, 'mini'), { machine: 'mini', redisUrl: url, prefix, state });
    const mbpFile = writeMachineConfig(join(root, 'mbp'), { machine: 'mbp', redisUrl: url, prefix, state });
    const config = loadConfig({ file: miniFile });
    const datasetSha256 = await artifactStoreFor(config).publishFolder(writeDataset(join(root, 'dataset'), 'night'));

    const redis = workerConnection(url);
    closers.push(async () => redis.disconnect());
    const queues = new FleetQueues(redis, { prefix, attempts: 1 });
    closers.push(() => queues.close());
    const values = { ...baselineValues(['yoda']), ITERS: 50 };
    const train = (experimentId: string, mode: 'full' | 'proxy') =>
      queues.add(mode === 'full' ? 'train-full' : 'train-proxy', jobIds.train(experimentId, mode), { experimentId, mode, commit: 'abc1234', searchSpace: 'qwen', values, datasetSha256 });
    const finished = (queue: string, jobId: string) =>
      until(`${jobId} to finish`, async () => {
        const job = await queues.get(queue as 'eval').getJob(jobId);
        return job?.finishedOn ? job : null;
      }, 60_000);

    workers.push(await startWorkerProcess(miniFile, 'mini', { STEP_TRAINER_MS: '10' }));
    workers.push(await startWorkerProcess(mbpFile, 'mbp', { STEP_TRAINER_MS: '10' }));
    await train('night-1', 'proxy');
    await finished('train-proxy', jobIds.train('night-1', 'proxy'));
    await train('night-2', 'full');
    await finished('train-full', jobIds.train('night-2', 'full'));

    const evaluator = new Worker(
      'eval',
      async (job) => {
        parsePayload('eval', job.data);
        await new Promise((r) => setTimeout(r, 500));
        return null;
      },
      { connection: workerConnection(url), prefix, name: 'mini/mini/eval' },
    );
    closers.push(() => evaluator.close());
    await queues.add('eval', jobIds.eval('night-1'), { experimentId: 'night-1', mode: 'proxy', adapterSha256: null });
    await finished('eval', jobIds.eval('night-1'));
    // Idle time after the last job, so both lanes end in a gap.
    await new Promise((r) => setTimeout(r, 1_000));

    server = await startServer({ config, redisUrl: url, log: logger('test'), port: 0 });
    closers.push(() => server.close());
    context = await launchChromium(join(root, 'chromium-profile'));
    page = await context.newPage();
    await page.goto(`${server.url}/`);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    for (const w of workers) if (w.child.exitCode === null) await w.stop();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('draws one lane per machine with its jobs where they ran, and the busy share of each', async () => {
    const lanes = page.locator('#night-timeline g.lane');
    expect(await lanes.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-machine')))).toEqual(['mbp', 'mini']);
    const kinds = (machine: string) =>
      page.locator(`#night-timeline g.lane[data-machine="${machine}"] rect.seg:not(.idle)`).evaluateAll((rs) => rs.map((r) => r.getAttribute('data-kind')));
    expect(await kinds('mini')).toEqual(['training', 'evaluation']);
    expect(await kinds('mbp')).toEqual(['training']);
    const tips = await page.locator('#night-timeline rect.seg:not(.idle) title').allTextContents();
    expect(tips.find((t) => t.startsWith('mbp training'))).toContain('night-2 (train-full)');
    expect(tips.find((t) => t.startsWith('mini evaluation'))).toContain('night-1 (eval)');
    for (const machine of ['mbp', 'mini']) {
      const share = Number(await page.locator(`#night-timeline g.lane[data-machine="${machine}"]`).getAttribute('data-busy-share'));
      expect(share, machine).toBeGreaterThan(0);
      expect(share, machine).toBeLessThan(1);
      expect(await page.locator(`#night-timeline g.lane[data-machine="${machine}"] rect.seg.idle`).count(), machine).toBeGreaterThan(0);
    }
    mkdirSync(join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await page.locator('#timeline').screenshot({ path: join(PROJECT_ROOT, 'test-artifacts', 'dashboard-timeline.png') });
  });

  it('serves the same night as JSON, and `autoresearch status` prints each machine share', async () => {
    const view = (await (await fetch(`${server.url}/api/timeline`)).json()) as TimelineView;
    expect(view.error).toBeNull();
    expect(view.skipped).toEqual([]);
    const lanes = view.timeline!.lanes;
    expect(lanes.map((l) => [l.machine, l.busy.map((s) => s.job!.jobId)])).toEqual([
      ['mbp', [jobIds.train('night-2', 'full')]],
      ['mini', [jobIds.train('night-1', 'proxy'), jobIds.eval('night-1')]],
    ]);
    const mbp = lanes[0]!;
    const mini = lanes[1]!;
    // The laptop's job ran after the Mini's, so its lane starts idle; the Mini's night opens with its job.
    expect(mbp.idle[0]!.start).toBe(view.timeline!.start);
    expect(mini.busy[0]!.start).toBe(view.timeline!.start);

    const cli = (...args: string[]) => execa(process.execPath, [join(PROJECT_ROOT, 'bin/autoresearch.js'), '-c', miniFile, 'status', ...args]);
    const status = JSON.parse((await cli('--json')).stdout) as StatusView;
    expect(status.night!.machines.map((m) => m.machine)).toEqual(['mbp', 'mini']);
    for (const m of status.night!.machines) {
      expect(m.busyShare, m.machine).toBeGreaterThan(0);
      expect(m.busyShare, m.machine).toBeLessThan(1);
      expect(m.trainingShare, m.machine).toBeGreaterThan(0);
    }
    expect(status.night!.machines[1]!.evaluationShare).toBeGreaterThan(0);
    const text = (await cli()).stdout;
    expect(text).toMatch(/tonight since \d\d:\d\d/);
    expect(text).toMatch(/ {2}mbp \d+% busy \(training \d+%, evaluation 0%\)/);
    expect(text).toMatch(/ {2}mini \d+% busy \(training \d+%, evaluation \d+%\)/);
  });
});
