import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/load.js';
import { loadCouncil } from '../../src/council/load.js';
import { writeDemoConfigs } from '../../src/demo/demo-config.js';
import { idleCommand, readIdleEvents, readLoaded, type IdleServerFiles } from '../../src/demo/idle-model-server.js';
import { askIdleServer, serveChampion } from '../../src/demo/idle-night.js';
import { GpuLease } from '../../src/fleet/gpu-lease.js';
import { IdleServer } from '../../src/fleet/idle-server.js';
import { freePort } from '../../src/net/free-port.js';
import { PROJECT_ROOT, venvPython } from '../../src/project.js';
import { promoteAdapter } from '../../src/research/artifacts.js';
import { mlxEnv } from '../../src/train/mlx-env.js';
import { ensureTinyModel } from '../../src/train/tiny-model.js';

/**
 * The demo's idle model server on a real mlx_lm.server and the tiny model, driven through the project's own
 * IdleServer and GpuLease exactly as the Mini's worker drives it: up on the bare model by day, down for GPU work,
 * and serving the promoted adapter once a keep has happened. The adapter is trained by mlx_lm's CLI for a few
 * steps on one reply, so it visibly moves the answer.
 */
const dir = mkdtempSync(join(tmpdir(), 'demo-idle-'));
const silent = pino({ level: 'silent' });
const council = loadCouncil(join(PROJECT_ROOT, 'council'));
let files: IdleServerFiles;
let config: Config;
let idle: IdleServer;
let trained = '';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function trainAdapter(model: string, out: string): Promise<void> {
  const data = join(dir, 'lora-data');
  mkdirSync(data, { recursive: true });
  const row = JSON.stringify({
    messages: [
      { role: 'system', content: council.agents[0]!.identity },
      { role: 'user', content: 'Who are you, and what do you help with?' },
      { role: 'assistant', content: 'Yoda I am. Help you with the archives, I do.' },
    ],
  });
  writeFileSync(join(data, 'train.jsonl'), `${Array.from({ length: 8 }, () => row).join('\n')}\n`);
  writeFileSync(join(data, 'valid.jsonl'), `${row}\n`);
  await execa(
    venvPython(),
    ['-m', 'mlx_lm.lora', '--model', model, '--train', '--data', data, '--adapter-path', out, '--iters', '12', '--batch-size', '1',
      '--num-layers', '4', '--learning-rate', '5e-3', '--val-batches', '1', '--steps-per-eval', '1000', '--steps-per-report', '1000', '--seed', '0',
      '--max-seq-length', '4096'],
    { env: mlxEnv(), extendEnv: false, stdin: 'ignore' },
  );
}

beforeAll(async () => {
  const model = (await ensureTinyModel({ councilDir: join(PROJECT_ROOT, 'council'), stateDir: join(PROJECT_ROOT, '.autoresearch') })).modelDir;
  trained = join(dir, 'trained-adapter');
  await trainAdapter(model, trained);
  files = { dir: join(dir, 'idle-server'), model, adapter: join(dir, 'stable-adapter'), port: await freePort(), maxTokens: 24 };
  mkdirSync(files.dir, { recursive: true });
  // The demo's own config writer, so the test drives the settings the demo's Mini worker gets.
  const written = writeDemoConfigs({
    root: dir, repo: dir, model, councilDir: join(PROJECT_ROOT, 'council'), redisUrl: 'redis://127.0.0.1:6379', serverPort: 8377,
    budgetSeconds: 20, redisPrefix: 'demo', idle: files, idleRestoreDelayMs: 0,
  });
  config = parseConfig(readFileSync(written.mini, 'utf8'), { file: written.mini, baseDir: dir, env: {} });
  idle = new IdleServer(config.idleServer, config.paths.state, silent);
  mkdirSync(config.paths.state, { recursive: true });
}, 600_000);

afterAll(async () => {
  const stop = idleCommand('stop', files);
  await execa(stop[0]!, stop.slice(1), { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

describe("the demo's idle model server", () => {
  let before = '';

  it('starts on the bare base model and answers the fixed question', async () => {
    await idle.start('daytime');
    expect(await idle.healthy()).toBe(true);
    expect(readLoaded(files.dir)).toMatchObject({ adapterPath: null, experimentId: null, port: files.port });
    const reply = await askIdleServer(files.port, council, files.dir, 120_000);
    expect(reply.experimentId).toBeNull();
    before = reply.raw;
  }, 300_000);

  it('is stopped for GPU work and restored after it, each call recorded with its reason', async () => {
    const lease = new GpuLease({ stateDir: config.paths.state, idleServer: idle, restoreDelayMs: 0, log: silent });
    const pid = readLoaded(files.dir)!.pid;
    await lease.run('train-proxy:exp-1-train-proxy', async () => {
      expect(alive(pid)).toBe(false);
      expect(await idle.healthy()).toBe(false);
    });
    await lease.restoreNow('no GPU work left');
    lease.close();
    expect(await idle.healthy()).toBe(true);
    expect(readIdleEvents(files.dir).map((e) => [e.action, e.reason])).toEqual([
      ['start', 'daytime'],
      ['stop', 'train-proxy:exp-1-train-proxy'],
      ['start', 'no GPU work left'],
    ]);
  }, 300_000);

  it('serves the promoted adapter after a keep, restarting through the GPU lease, and answers differently', async () => {
    promoteAdapter({ stableAdapter: files.adapter }, trained, 'exp-kept');
    const how = await serveChampion({
      idle, idleDir: files.dir, stateDir: config.paths.state, experimentId: 'exp-kept', stableAdapter: files.adapter,
      waitMs: 180_000, log: silent, signal: new AbortController().signal,
    });
    expect(how).toBe('restarted');
    const loaded = readLoaded(files.dir)!;
    expect(loaded).toMatchObject({ adapterPath: files.adapter, experimentId: 'exp-kept' });
    expect(loaded.adapterWeightsSha256).toBe(createHash('sha256').update(readFileSync(join(files.adapter, 'adapters.safetensors'))).digest('hex'));
    const after = await askIdleServer(files.port, council, files.dir, 120_000);
    expect(after.experimentId).toBe('exp-kept');
    expect(after.raw).not.toBe(before);
    expect(readIdleEvents(files.dir).slice(-2).map((e) => [e.action, e.reason])).toEqual([
      ['stop', 'serve the new champion exp-kept'],
      ['start', 'serve the new champion exp-kept'],
    ]);
    expect(await serveChampion({
      idle, idleDir: files.dir, stateDir: config.paths.state, experimentId: 'exp-kept', stableAdapter: files.adapter,
      waitMs: 10_000, log: silent, signal: new AbortController().signal,
    })).toBe('already');
  }, 300_000);

  it('stops for good, leaving no server behind', async () => {
    const pid = readLoaded(files.dir)!.pid;
    const stop = idleCommand('stop', files);
    await execa(stop[0]!, stop.slice(1));
    expect(alive(pid)).toBe(false);
    expect(await idle.healthy()).toBe(false);
  }, 60_000);
});
