import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { chatTemplateHasThinkingSwitch } from '../eval/model-server.js';
import { REASON_ENV } from '../fleet/idle-server.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { PROJECT_ROOT, venvPython } from '../project.js';
import { mlxEnv } from '../train/mlx-env.js';

/**
 * The demo's daytime model server, driven the way launchctl drives one on a Mac: `start` launches a real
 * mlx_lm.server on the base model plus the stable adapter (when one has been promoted) in the background and
 * returns; `stop` ends it and returns once it is gone. The demo's `idleServer.start` / `idleServer.stop` run
 * this file, and the worker's GPU lease decides when (src/fleet/gpu-lease.ts).
 *
 * Each call appends a line to `<dir>/events.jsonl` (the demo shows them) and a start writes `<dir>/loaded.json`:
 * which adapter the server loaded, by the experiment PROMOTED.json names and the sha256 of its weights.
 */
export const IDLE_SCRIPT = join(PROJECT_ROOT, 'src', 'demo', 'idle-model-server-main.ts');

export const loadedSchema = z.object({
  pid: z.number().int(),
  port: z.number().int(),
  startedAt: z.string(),
  adapterPath: z.string().nullable(),
  experimentId: z.string().nullable(),
  adapterWeightsSha256: z.string().nullable(),
});
export type Loaded = z.infer<typeof loadedSchema>;

export const idleEventSchema = z.object({
  at: z.string(),
  action: z.enum(['start', 'stop']),
  /** What the call found or did, in a few words. */
  detail: z.string(),
  /** Why it was called, as the caller said (IdleServer passes it in AUTORESEARCH_IDLE_REASON). */
  reason: z.string().nullable(),
  experimentId: z.string().nullable(),
});
export type IdleEvent = z.infer<typeof idleEventSchema>;

export interface IdleServerFiles {
  dir: string;
  model: string;
  adapter: string;
  port: number;
  maxTokens: number;
}

/** The argv of one control call, as idleServer.start / idleServer.stop in a config hold it. */
export function idleCommand(action: 'start' | 'stop', files: IdleServerFiles): string[] {
  return [
    process.execPath,
    join(PROJECT_ROOT, 'bin', 'run-ts.js'),
    IDLE_SCRIPT,
    action,
    '--dir', files.dir,
    '--model', files.model,
    '--adapter', files.adapter,
    '--port', String(files.port),
    '--max-tokens', String(files.maxTokens),
  ];
}

export function readLoaded(dir: string): Loaded | null {
  const file = join(dir, 'loaded.json');
  if (!existsSync(file)) return null;
  return loadedSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export function readIdleEvents(dir: string): IdleEvent[] {
  const file = join(dir, 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => idleEventSchema.parse(JSON.parse(line)));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runningPid(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
}

function record(dir: string, action: IdleEvent['action'], detail: string, experimentId: string | null): void {
  const event: IdleEvent = { at: new Date().toISOString(), action, detail, reason: process.env[REASON_ENV] || null, experimentId };
  appendFileSync(join(dir, 'events.jsonl'), `${JSON.stringify(event)}\n`);
}

function promotedExperiment(adapter: string): string | null {
  const file = join(adapter, 'PROMOTED.json');
  if (!existsSync(file)) return null;
  const parsed = z.object({ experimentId: z.string() }).safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data.experimentId : null;
}

function start(files: IdleServerFiles): void {
  const pidFile = join(files.dir, 'server.pid');
  const running = runningPid(pidFile);
  if (running !== null) {
    record(files.dir, 'start', `already running (pid ${running})`, readLoaded(files.dir)?.experimentId ?? null);
    return;
  }
  const weights = join(files.adapter, 'adapters.safetensors');
  const hasAdapter = existsSync(weights);
  const args = ['-m', 'mlx_lm.server', '--model', files.model];
  if (hasAdapter) args.push('--adapter-path', files.adapter);
  args.push('--host', '127.0.0.1', '--port', String(files.port), '--temp', '0', '--max-tokens', String(files.maxTokens), '--prompt-cache-size', '0');
  if (chatTemplateHasThinkingSwitch(files.model)) args.push('--chat-template-args', '{"enable_thinking":false}');
  const log = openSync(join(files.dir, 'server.log'), 'a');
  // Detached in its own process group, like a launchd job: it outlives this short control process.
  const child = spawn(venvPython(), args, { detached: true, stdio: ['ignore', log, log], env: mlxEnv() });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${venvPython()} -m mlx_lm.server; see ${join(files.dir, 'server.log')}`);
  const experimentId = hasAdapter ? promotedExperiment(files.adapter) : null;
  const loaded: Loaded = {
    pid: child.pid,
    port: files.port,
    startedAt: new Date().toISOString(),
    adapterPath: hasAdapter ? files.adapter : null,
    experimentId,
    adapterWeightsSha256: hasAdapter ? createHash('sha256').update(readFileSync(weights)).digest('hex') : null,
  };
  writeFileAtomic(pidFile, `${child.pid}\n`);
  writeFileAtomic(join(files.dir, 'loaded.json'), `${JSON.stringify(loaded)}\n`);
  record(files.dir, 'start', hasAdapter ? `mlx_lm.server with the stable adapter (${experimentId ?? 'unknown experiment'})` : 'mlx_lm.server on the bare base model (no champion yet)', experimentId);
}

async function stop(files: IdleServerFiles): Promise<void> {
  const pidFile = join(files.dir, 'server.pid');
  const pid = runningPid(pidFile);
  if (pid === null) {
    rmSync(pidFile, { force: true });
    record(files.dir, 'stop', 'was not running', null);
    return;
  }
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(pid)) {
    if (Date.now() > deadline) signalGroup('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(pidFile, { force: true });
  record(files.dir, 'stop', `stopped (pid ${pid})`, readLoaded(files.dir)?.experimentId ?? null);
}

/** One control call: `start` or `stop` with its options (the command line after the script's name). */
export async function idleControl(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      model: { type: 'string' },
      adapter: { type: 'string' },
      port: { type: 'string' },
      'max-tokens': { type: 'string', default: '48' },
    },
  });
  const action = positionals[0];
  const port = Number(values.port);
  if ((action !== 'start' && action !== 'stop') || !values.dir || !values.model || !values.adapter || !Number.isInteger(port)) {
    throw new Error('usage: idle-model-server.ts start|stop --dir DIR --model MODEL --adapter STABLE_ADAPTER_DIR --port PORT [--max-tokens N]');
  }
  mkdirSync(values.dir, { recursive: true });
  const files: IdleServerFiles = { dir: values.dir, model: values.model, adapter: values.adapter, port, maxTokens: Number(values['max-tokens']) };
  if (action === 'start') start(files);
  else await stop(files);
}
