import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { idleServerSection } from '../../src/config/sections/idle-server.js';
import { GpuLease } from '../../src/fleet/gpu-lease.js';
import { MachineLock } from '../../src/fleet/machine-lock.js';
import { IdleServer } from '../../src/fleet/idle-server.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { until } from '../support/fleet-harness.js';

const CONTENDER = ['bin/run-ts.js', 'test/support/lock-contender.ts'];

/** A logger whose lines the test can read. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, messages: () => lines.map((l) => String(l.msg)) };
}

describe('the GPU lock across processes', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  function stateDir() {
    const dir = mkdtempSync(join(tmpdir(), 'autoresearch-gpu-lock-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  function lease(dir: string, log: pino.Logger) {
    const idleServer = new IdleServer(idleServerSection.parse({}), dir, log);
    return new GpuLease({ stateDir: dir, idleServer, restoreDelayMs: 0, log, pollMs: 50, waitLogEveryMs: 200 });
  }

  function contender(lockFile: string, journal: string, hold: string, goFile?: string): ResultPromise {
    const child = execa(process.execPath, [...CONTENDER, lockFile, journal, hold, ...(goFile ? [goFile] : [])], {
      cwd: PROJECT_ROOT,
      reject: false,
      env: { AUTORESEARCH_LOG_LEVEL: 'silent' },
    });
    cleanups.push(() => child.kill('SIGKILL'));
    return child;
  }

  it('a lock left by a dead worker whose pid now names another live process is taken over, and says so', async () => {
    const dir = stateDir();
    // The pid is reused by a live process (here a sleeping child); the lock's start time is the dead worker's.
    const reused = execa('sleep', ['60'], { reject: false });
    cleanups.push(() => reused.kill('SIGKILL'));
    writeFileSync(
      join(dir, 'gpu.lock'),
      JSON.stringify({ pid: reused.pid, start: 'a boot long ago:1234', label: 'train-proxy:x', since: '2026-01-01T00:00:00.000Z', nonce: 'dead0000-worker' }),
    );
    const { log, messages } = recordingLogger();

    const ran = await lease(dir, log).run('eval:after-reboot', async () => 'ran');

    expect(ran).toBe('ran');
    expect(messages()).toContain('took over a GPU lock whose owner is no longer running');
    expect(existsSync(join(dir, 'gpu.lock'))).toBe(false);
  });

  it('waits for a live holder with a log line, and takes the lock once the holder is killed with -9', async () => {
    const dir = stateDir();
    const journal = join(dir, 'journal');
    const holder = contender(join(dir, 'gpu.lock'), journal, 'forever');
    await until('the holder to take the lock', async () => existsSync(journal) && readFileSync(journal, 'utf8').includes('enter'));
    const { log, messages } = recordingLogger();
    let ran = false;
    const waiting = lease(dir, log).run('train-proxy:waiting', async () => {
      ran = true;
    });

    await until('a log line while waiting', async () => messages().includes('waiting for the GPU lock held by another live process'));
    expect(ran).toBe(false);
    holder.kill('SIGKILL');
    await holder;
    await waiting;

    expect(ran).toBe(true);
    expect(messages()).toContain('took over a GPU lock whose owner is no longer running');
  });

  it('processes racing to take over one stale lock hold it one at a time', async () => {
    const dir = stateDir();
    const lockFile = join(dir, 'gpu.lock');
    const journal = join(dir, 'journal');
    const goFile = join(dir, 'go');
    writeFileSync(lockFile, JSON.stringify({ pid: 999_999_999, start: 'gone', label: 'stale', since: '2026-01-01T00:00:00.000Z', nonce: 'stale000-generation' }));
    const contenders = Array.from({ length: 4 }, () => contender(lockFile, journal, '150', goFile));
    let ready = 0;
    for (const c of contenders) c.stdout!.on('data', (chunk: Buffer) => (ready += chunk.toString().split('ready').length - 1));
    await until('every contender to spin on the go file', async () => ready === 4);
    writeFileSync(goFile, '');
    const results = await Promise.all(contenders);

    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    const events = readFileSync(journal, 'utf8').trim().split('\n');
    expect(events).toHaveLength(8);
    for (let i = 0; i < events.length; i += 2) {
      const [enter, leave] = [events[i]!.split(' '), events[i + 1]!.split(' ')];
      expect([enter[0], leave[0], leave[1]]).toEqual(['enter', 'leave', enter[1]]);
    }
    expect(existsSync(lockFile)).toBe(false);
  });

  it('a wait for a live holder ends at once when aborted, with the reason, and leaves only the holder\'s lock', async () => {
    const dir = stateDir();
    const file = join(dir, 'gpu.lock');
    const journal = join(dir, 'journal');
    contender(file, journal, 'forever');
    await until('the holder to take the lock', async () => existsSync(journal) && readFileSync(journal, 'utf8').includes('enter'));
    const { log, messages } = recordingLogger();
    const stop = new AbortController();
    // A poll far longer than the test: only the abort can end this wait.
    const waiting = new MachineLock({ file, log, pollMs: 600_000, waitLogEveryMs: 0 }).acquire('eval:waiting', stop.signal);
    await until('a log line while waiting', async () => messages().includes('waiting for the GPU lock held by another live process'));
    stop.abort(new Error('planner stopped'));
    await expect(waiting).rejects.toThrow('planner stopped');
    expect(readdirSync(dir).sort()).toEqual(['gpu.lock', 'journal']);
    expect(JSON.parse(readFileSync(file, 'utf8')).label).toMatch(/^contender /);
  });
});
