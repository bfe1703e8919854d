import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { PROJECT_ROOT } from '../../src/project.js';

/** A config file for one simulated machine, with short lock and deadline settings; production defaults stay in the schema. */
export function writeMachineConfig(dir: string, options: {
  machine: string;
  redisUrl: string;
  prefix: string;
  state: string;
  artifactsUrl?: string;
  idleServer?: Record<string, unknown>;
  fleet?: Record<string, unknown>;
  /** Further top-level sections (models, eval, council, ...). */
  sections?: Record<string, unknown>;
}): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${options.machine}.config.yaml`);
  const config = {
    paths: { state: options.state },
    redis: { url: options.redisUrl, embedded: false, prefix: options.prefix },
    fleet: {
      machine: options.machine,
      roles: {
        mini: { consumes: ['train-proxy', 'route'], stalledCheck: ['train-full'] },
        mbp: { consumes: ['train-full'], stalledCheck: [] },
      },
      heartbeat: { intervalMs: 250, ttlMs: 1_200 },
      pickupDeadlineMs: 4_000,
      lock: { durationMs: 2_000, stalledIntervalMs: 1_000, maxStalledCount: 3, maxStartedAttempts: 8 },
      killAfterMs: 1_000,
      shutdownTimeoutMs: 8_000,
      ...(options.artifactsUrl ? { artifacts: { url: options.artifactsUrl } } : {}),
      ...options.fleet,
    },
    ...(options.idleServer ? { idleServer: options.idleServer } : {}),
    ...options.sections,
  };
  // JSON is YAML: no hand-written indentation to get wrong.
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface WorkerProcess {
  pid: number;
  child: ResultPromise;
  output(): string;
  /** SIGTERM, then the exit code and how long the exit took. */
  stop(): Promise<{ exitCode: number | undefined; ms: number }>;
}

/** Starts `test/support/fleet-worker.ts` as its own process and resolves once it consumes. */
/** `core`: run it (and its children) on that CPU core only, with taskset -c. */
export function startWorkerProcess(configFile: string, role: string, env: Record<string, string> = {}, core?: number): Promise<WorkerProcess> {
  return startProcess([join(PROJECT_ROOT, 'bin/run-ts.js'), 'test/support/fleet-worker.ts', configFile, role], env, /^ready$/m, core);
}

/** Starts the real CLI, `autoresearch -c <file> worker --role <role>`, and resolves once it consumes. */
export function startCliWorker(configFile: string, role: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  return startProcess([join(PROJECT_ROOT, 'bin/autoresearch.js'), '-c', configFile, 'worker', '--role', role], env, /"msg":"worker ready"/);
}

async function startProcess(args: string[], env: Record<string, string>, ready: RegExp, core?: number): Promise<WorkerProcess> {
  // taskset execs node in place, so the pid is still the worker's (signals and kill -9 reach it).
  const [file, argv] = core === undefined ? [process.execPath, args] : ['taskset', ['-c', String(core), process.execPath, ...args]];
  const child = execa(file, argv, {
    cwd: PROJECT_ROOT,
    env: { AUTORESEARCH_LOG_LEVEL: 'info', AUTORESEARCH_LOG_FORMAT: 'json', VITEST: '', ...env },
    reject: false,
    all: true,
    buffer: true,
  });
  let log = '';
  child.all!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (ready.test(log)) resolve();
    };
    child.all!.on('data', onData);
    void child.then((r) => reject(new Error(`worker exited before ready (${r.exitCode}):\n${log}`)));
  });
  return {
    pid: child.pid!,
    child,
    output: () => log,
    async stop() {
      const started = Date.now();
      child.kill('SIGTERM');
      const result = await child;
      return { exitCode: result.exitCode, ms: Date.now() - started };
    },
  };
}

/** Polls `probe` until it returns something truthy; the failure names what was awaited. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A real dataset folder, as prepare.py lays it out, for the planner side of the drills. */
export function writeDataset(dir: string, seed: string): string {
  mkdirSync(dir, { recursive: true });
  const row = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: `${seed} ${i}` }, { role: 'assistant', content: `ok ${i}` }] });
  writeFileSync(join(dir, 'train.jsonl'), `${Array.from({ length: 20 }, (_, i) => row(i)).join('\n')}\n`);
  writeFileSync(join(dir, 'valid.jsonl'), `${row(100)}\n`);
  return dir;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
