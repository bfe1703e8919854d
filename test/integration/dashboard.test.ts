import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startHeartbeat, type HeartbeatHandle } from '../../src/fleet/presence.js';
import { logger } from '../../src/log.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { workerConnection } from '../../src/redis/connections.js';
import type { ResultRow } from '../../src/research/results-format.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { uniquePrefix } from '../support/redis.js';
import { launchChromium } from './dashboard-browser.js';
import { HOSTILE, writeRunFixture, type FixturePaths } from './dashboard-fixture.js';

const EXPERIMENTS = 200;

describe('the dashboard in headless Chromium, over a 200-experiment run written by the real code paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-dashboard-'));
  const paths: FixturePaths = {
    results: join(root, 'results.tsv'),
    logs: join(root, 'logs'),
    state: join(root, 'state'),
    adaptersExperimental: join(root, 'adapters-experimental'),
    stableAdapter: join(root, 'stable-adapter'),
  };
  const prefix = uniquePrefix('dash');
  const closers: Array<() => Promise<unknown>> = [];
  let rows: ResultRow[];
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  let release: () => void = () => undefined;

  beforeAll(async () => {
    rows = writeRunFixture(paths, EXPERIMENTS).rows;
    const config = parseConfig(
      `paths: { state: ${paths.state}, logs: ${paths.logs}, results: ${paths.results} }\nredis: { prefix: ${prefix}, embedded: false }\n`,
      { file: null, baseDir: root, env: { AUTORESEARCH_SERVER_TOKEN: 'dashboard-test-token' } },
    );
    const url = inject('redisUrl');

    // The fleet as the server sees it at 3 AM: the Mini training, the laptop gone to sleep an hour ago.
    const heartbeats: HeartbeatHandle[] = [];
    for (const machine of ['mini', 'mbp']) {
      const redis = workerConnection(url);
      closers.push(async () => redis.disconnect());
      await redis.ping();
      const hb = startHeartbeat({ redis, prefix, machine, role: machine, consumes: [], intervalMs: 60_000, ttlMs: 120_000 });
      await hb.beat();
      heartbeats.push(hb);
    }
    await heartbeats[1]!.stop();
    closers.push(() => heartbeats[0]!.stop());
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const worker = new Worker(
      'train-proxy',
      async (job) => {
        heartbeats[0]!.setBusy({ queue: 'train-proxy', jobId: job.id!, experimentId: 'exp-200' });
        await job.updateProgress({ stage: 'train', iteration: 60, iters: 120, trainLoss: 1.234, etaSeconds: 420 });
        await gate;
      },
      // Named as workers/run.ts names the Mini's, so the night's timeline knows where the job runs.
      { connection: workerConnection(url), prefix, name: 'mini/mini/train-proxy' },
    );
    closers.push(() => worker.close());
    const progressed = new Promise((resolve) => worker.once('progress', resolve));

    server = await startServer({ config, redisUrl: url, log: logger('test'), port: 0 });
    closers.push(() => server.close());
    const { Queue } = await import('bullmq');
    const producer = new Queue('train-proxy', { connection: workerConnection(url), prefix });
    closers.push(() => producer.close());
    await producer.add('train-proxy', { experimentId: 'exp-200' }, { jobId: 'exp-200-train-proxy' });
    await progressed;
    await heartbeats[0]!.beat();

    context = await launchChromium(join(root, 'chromium-profile'));
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${server.url}/`);
  });

  afterAll(async () => {
    release();
    await context?.close();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  const outcomeOf = (r: ResultRow) =>
    r.result === 'base' ? 'baseline' : r.result === 'keep' ? 'kept' : r.result === 'revert' ? 'reverted' : r.result.startsWith('veto') ? 'vetoed' : 'failed';
  const indicesWith = (outcome: string) => rows.flatMap((r, i) => (outcomeOf(r) === outcome ? [String(i + 1)] : []));

  it('plots every scored experiment at its index, coloured by decision, with the running best as steps', async () => {
    for (const outcome of ['baseline', 'kept', 'reverted', 'vetoed']) {
      const xs = await page.locator(`#chart-overall .pt.o-${outcome}`).evaluateAll((els) => els.map((e) => e.getAttribute('data-x')));
      expect(xs, outcome).toEqual(indicesWith(outcome));
    }
    const failed = await page.locator('#chart-overall path.pt.failed').evaluateAll((els) => els.map((e) => e.getAttribute('data-x')));
    expect(failed).toEqual(indicesWith('failed'));
    expect(await page.locator('#chart-overall path.line.best').count()).toBe(1);
    const kept = rows.filter((r) => r.result === 'keep');
    expect(kept.length).toBeGreaterThan(3);
    // one corner per champion (baseline + keeps), two points per step after the first, one to the right edge
    const corners = await page.locator('#chart-overall path.line.best').getAttribute('d');
    expect(corners!.split(/[ML]/).filter(Boolean)).toHaveLength(1 + 2 * kept.length + 1);
  });

  it('draws the jailbreak score against the 0.7 veto line and one line per agent', async () => {
    await expect.poll(() => page.locator('#chart-jailbreak .rule-label').textContent()).toBe('veto below 0.7');
    const vetoedXs = rows.flatMap((r, i) => (r.result === 'veto-jailbreak' ? [String(i + 1)] : []));
    const jailbreakVetoed = await page.locator('#chart-jailbreak .pt.o-vetoed').evaluateAll((els) => els.map((e) => e.getAttribute('data-x')));
    expect(jailbreakVetoed).toEqual(expect.arrayContaining(vetoedXs));
    const agents = await page.locator('#chart-agents path.line.agent title').allTextContents();
    expect(agents).toEqual(['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi']);
  });

  it('lists every experiment newest first with its decision, reasons and a link to its eval records', async () => {
    const table = page.locator('table.experiments tbody tr');
    expect(await table.count()).toBe(EXPERIMENTS);
    const shown = await table.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-experiment'), tr.getAttribute('data-result')]));
    expect(shown).toEqual([...rows].reverse().map((r) => [r.experimentId, r.result]));
    const vetoRow = rows.find((r) => r.result === 'veto-jailbreak')!;
    const reasons = await page.locator(`#exp-${vetoRow.experimentId} .reasons li`).allTextContents();
    expect(reasons).toEqual(vetoRow.reasons);
    const crash = rows.find((r) => r.result === 'crash')!;
    expect(await page.locator(`#exp-${crash.experimentId} a`).count()).toBe(0);
  });

  it('shows the holdout overall in its own column, blank where nothing was evaluated', async () => {
    expect(await page.locator('table.experiments thead th.holdout').textContent()).toBe('holdout');
    const scored = rows.find((r) => r.result === 'keep')!;
    expect(scored.holdout).not.toBeNull();
    expect(await page.locator(`#exp-${scored.experimentId} td.holdout`).textContent()).toMatch(new RegExp(`^${scored.holdout!.toFixed(3)}`));
    const crash = rows.find((r) => r.result === 'crash')!;
    expect(await page.locator(`#exp-${crash.experimentId} td.holdout`).textContent()).toBe('–');
  });

  it('shows text from the LLM as text: nothing in a hypothesis or an answer runs', async () => {
    const hostile = page.locator('#exp-exp-003 .hyp');
    expect(await hostile.textContent()).toBe(`Hostile hypothesis\twith a tab\nand a newline: ${HOSTILE}`);
    expect(await page.title()).not.toBe('pwned');
    await page.locator('#exp-exp-003 a', { hasText: 'records' }).click();
    await page.waitForURL(/\/experiments\/exp-003\/records$/);
    expect(await page.locator('tbody tr').count()).toBe(66);
    expect(await page.locator('body').textContent()).toContain(HOSTILE);
    expect(await page.title()).toBe('exp-003 · eval records');
    expect(dialogs).toEqual([]);
    await page.goBack();
  });

  it('shows the search: parameter importance from Optuna, the score against each parameter with vetoes marked, and who proposed each row', async () => {
    const search = page.locator('section.search');
    expect(await search.getAttribute('data-group')).toBe('proxy · Qwen3.5-9B-MLX-4bit');
    const importance = await search.locator('table.importance tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-param')));
    // The fixture's night varies three parameters; the other eleven never moved and explain nothing.
    expect([...importance].sort()).toEqual(['LEARNING_RATE', 'LORA_ALPHA', 'LORA_RANK']);
    expect(await search.locator('.not-varied').textContent()).toMatch(/^not varied yet: NUM_LAYERS, DROPOUT, ITERS, .*PER_AGENT_WEIGHTS.mundi$/);
    const values = (await search.locator('table.importance td.num').allTextContents()).map(Number);
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 2);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    const panels = search.locator('svg.scatter');
    expect(await panels.count()).toBe(14);
    const rank = search.locator('svg.scatter[data-param="LORA_RANK"]');
    const scored = rows.filter((r) => r.score !== null);
    expect(await rank.locator('.pt').count()).toBe(scored.length);
    expect(await rank.locator('g.pt.o-vetoed').count()).toBe(scored.filter((r) => r.result.startsWith('veto')).length);
    expect(await search.locator('svg.scatter[data-param="LEARNING_RATE"] .axis-label').textContent()).toBe('LEARNING_RATE (log)');
    expect(await page.locator('#exp-exp-001 .proposer').textContent()).toBe('sampler');
    expect(await page.locator('#exp-baseline-proxy .proposer').textContent()).toBe('baseline');
    mkdirSync(join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await search.screenshot({ path: join(PROJECT_ROOT, 'test-artifacts', 'dashboard-search.png') });
  });

  it('shows the machines online and away, and the running job with its progress; saves a screenshot', async () => {
    await page.goto(`${server.url}/`);
    expect(await page.locator('.machine.online strong').allTextContents()).toEqual(['mini']);
    expect(await page.locator('.machine.away strong').allTextContents()).toEqual(['mbp']);
    expect(await page.locator('.machine.online .busy').textContent()).toContain('exp-200');
    const job = page.locator('.job');
    expect(await job.locator('strong').textContent()).toBe('exp-200');
    expect(await job.locator('.small').textContent()).toBe('iteration 60/120 · train · loss 1.234 · ETA 7 min');
    expect(await job.locator('.bar span').getAttribute('style')).toBe('width:50.0%');
    expect(await page.locator('#night-timeline g.lane').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-machine')))).toEqual(['mini']);
    expect(await page.locator('#night-timeline g.lane rect.seg.running').count()).toBe(1);
    mkdirSync(join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(PROJECT_ROOT, 'test-artifacts', 'dashboard.png'), fullPage: true });
    await page.screenshot({ path: join(PROJECT_ROOT, 'test-artifacts', 'dashboard-top.png') });
  });
});
