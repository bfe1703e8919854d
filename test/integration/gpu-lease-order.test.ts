import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { idleServerSection } from '../../src/config/sections/idle-server.js';
import { GPU_PRIORITY, GpuLease } from '../../src/fleet/gpu-lease.js';
import { IdleServer } from '../../src/fleet/idle-server.js';
import { freePort } from '../../src/net/free-port.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { until } from '../support/fleet-harness.js';

const IDLE_CTL = join(PROJECT_ROOT, 'test/support/idle-ctl.mjs');
const silent = pino({ level: 'silent' });

describe('the Mini shared by evaluations and proxy training', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  /** A lease over a real "idle server" (test/support/idle-ctl.mjs, as launchctl drives the real one); events.log lists each start and stop. */
  async function leaseWithIdleServer(restoreDelayMs: number) {
    const dir = mkdtempSync(join(tmpdir(), 'autoresearch-lease-order-'));
    const port = await freePort();
    await execa(process.execPath, [IDLE_CTL, 'start', dir, String(port)]);
    cleanups.push(async () => {
      await execa(process.execPath, [IDLE_CTL, 'stop', dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    const idle = new IdleServer(
      idleServerSection.parse({
        enabled: true,
        stop: [process.execPath, IDLE_CTL, 'stop', dir],
        start: [process.execPath, IDLE_CTL, 'start', dir, String(port)],
        healthUrl: `http://127.0.0.1:${port}/health`,
        healthTimeoutMs: 5_000,
        restoreDelayMs,
      }),
      dir,
      silent,
    );
    const lease = new GpuLease({ stateDir: dir, idleServer: idle, restoreDelayMs, log: silent, pollMs: 50 });
    cleanups.push(() => lease.close());
    // The first line is the harness's own start above.
    const events = () => readFileSync(join(dir, 'events.log'), 'utf8').trim().split('\n').slice(1);
    return { lease, events };
  }

  it('evaluations queued behind a running job go before a training job queued earlier, a full-mode one first', async () => {
    const { lease } = await leaseWithIdleServer(60_000);
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = lease.run('train-proxy:running', async () => {
      order.push('train-proxy:running');
      await new Promise<void>((r) => (finishFirst = r));
    });
    await until('the first job to hold the GPU', async () => order.length === 1);
    const training = lease.run('train-proxy:next', async () => void order.push('train-proxy:next'), undefined, GPU_PRIORITY.train);
    const proxyEval = lease.run('eval:proxy-result', async () => void order.push('eval:proxy-result'), undefined, GPU_PRIORITY.eval);
    const fullEval = lease.run('eval:full-result', async () => void order.push('eval:full-result'), undefined, GPU_PRIORITY.fullEval);
    finishFirst();
    await Promise.all([first, training, proxyEval, fullEval]);
    expect(order).toEqual(['train-proxy:running', 'eval:full-result', 'eval:proxy-result', 'train-proxy:next']);
    await lease.restoreNow('test over');
  });

  it('the idle server is stopped once and restored once across back-to-back jobs, and a job within the restore delay finds it still stopped', async () => {
    const { lease, events } = await leaseWithIdleServer(5_000);
    // Three consecutive jobs, each queued while the previous one runs: the server must not restart in between.
    let release: (() => void) | null = null;
    const a = lease.run('train-proxy:a', () => new Promise<void>((r) => (release = r)));
    await until('job a to run', async () => release !== null);
    const b = lease.run('eval:b', async () => undefined, undefined, GPU_PRIORITY.eval);
    const c = lease.run('train-proxy:c', async () => undefined);
    release!();
    await Promise.all([a, b, c]);
    expect(events()).toEqual(['stop']);
    // A job that arrives after the last one ended but within restoreDelayMs also finds the server stopped.
    await lease.run('eval:d', async () => undefined, undefined, GPU_PRIORITY.eval);
    expect(events()).toEqual(['stop']);
    await lease.restoreNow('night over');
    expect(events()).toEqual(['stop', 'start']);
  });
});
