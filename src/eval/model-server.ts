import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { untilAborted } from '../abortable.js';
import { EnvironmentError } from '../errors.js';
import { freePort } from '../net/free-port.js';
import type { Logger } from '../log.js';
import type { ChildRegistry } from '../proc/child-registry.js';
import { venvPython } from '../project.js';
import { mlxEnv } from '../train/mlx-env.js';

export interface ModelServerOptions {
  /** A local model folder or a Hugging Face id. */
  model: string;
  adapterPath?: string | null;
  maxTokens: number;
  startTimeoutMs: number;
  signal?: AbortSignal;
  log?: Logger;
  /** Another interpreter (tests); defaults to the project's venv. */
  python?: string;
  /** Called with the server's pid as soon as it is spawned (tests check it is gone afterwards). */
  onSpawn?: (pid: number) => void;
  /** Where the running server is written down, so a worker that restarts after a kill -9 stops it. */
  registry?: ChildRegistry;
}

export interface ModelServer {
  /** Base URL, e.g. http://127.0.0.1:53121 */
  url: string;
  pid: number;
  /** The last lines the server wrote, for error messages. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. Safe to call twice. */
  stop(): Promise<void>;
}

const KILL_GRACE_MS = 5_000;
const TAIL_LINES = 40;

/**
 * Starts `python -m mlx_lm.server` for one (model, adapter) on a free port bound to 127.0.0.1 and resolves once
 * it has loaded the model and answered a one-token request. The process is stopped on every failure path here;
 * after success the caller owns it (use `withModelServer` to get that for free).
 */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await startOnPort(options, port);
    } catch (error) {
      // Another process can take the port between our probe and the server's bind; try a fresh one.
      if (error instanceof PortTakenError && attempt < 3) continue;
      throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnPort(options: ModelServerOptions, port: number): Promise<ModelServer> {
  const args = ['-m', 'mlx_lm.server', '--model', options.model];
  if (options.adapterPath) args.push('--adapter-path', options.adapterPath);
  args.push(
    '--host', '127.0.0.1',
    '--port', String(port),
    '--temp', '0',
    '--max-tokens', String(options.maxTokens),
    // Greedy output can depend on which cached prefix a prompt reuses, and with concurrent requests that depends
    // on arrival order; without the cache every case is computed from scratch, in any order.
    '--prompt-cache-size', '0',
  );
  if (chatTemplateHasThinkingSwitch(options.model)) args.push('--chat-template-args', '{"enable_thinking":false}');
  const python = options.python ?? venvPython();
  if (!existsSync(python)) {
    throw new EnvironmentError(`no Python at ${python}: run \`sh scripts/setup.sh\` to create the venv with mlx-lm`);
  }
  options.log?.info({ model: options.model, adapter: options.adapterPath ?? null, port }, 'starting mlx_lm.server');
  const child = execa(python, args, {
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: KILL_GRACE_MS,
    env: mlxEnv(),
    extendEnv: false,
  });
  const tail: string[] = [];
  let httpdStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    httpdStarted = resolve;
  });
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim().length === 0) continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (line.includes('Starting httpd')) httpdStarted();
    }
  };
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let exited = false;
  const recorded = child.pid !== undefined && options.registry ? options.registry.record('mlx_lm.server', child.pid, { group: false }) : null;
  const exit = child.then(async (r) => {
    exited = true;
    const forget = await recorded?.catch(() => null);
    await forget?.();
    return r;
  });
  const url = `http://127.0.0.1:${port}`;
  const server: ModelServer = {
    url,
    pid: child.pid ?? -1,
    logTail: () => tail.join('\n'),
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };

  const deadline = AbortSignal.timeout(options.startTimeoutMs);
  const abort = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    await untilAborted(
      Promise.race([
        started,
        exit.then(() => {
          throw earlyExit(tail);
        }),
      ]),
      abort,
    );
    await untilAborted(warmUp(url, abort), abort);
    options.log?.info({ port, pid: child.pid }, 'mlx_lm.server ready');
    return server;
  } catch (error) {
    await server.stop();
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted');
    if (deadline.aborted) {
      throw new EnvironmentError(
        `mlx_lm.server did not become ready within ${options.startTimeoutMs} ms (eval.serverStartTimeoutMs); last output:\n${server.logTail()}`,
      );
    }
    throw error;
  }
}

function earlyExit(tail: readonly string[]): Error {
  const text = tail.join('\n');
  if (/Address already in use/i.test(text)) return new PortTakenError(text);
  return new EnvironmentError(`mlx_lm.server exited during start-up; last output:\n${text}`);
}

/**
 * /health answers while the model is still loading (loading runs in the generation thread), so readiness is a
 * one-token request: it waits for the load and surfaces a bad model or adapter as an error instead of a hang.
 */
async function warmUp(url: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'ready?' }], max_tokens: 1, temperature: 0, seed: 0 }),
    signal,
  });
  const text = await response.text();
  if (!response.ok) throw new EnvironmentError(`mlx_lm.server could not load the model: ${text}`);
}

/** Runs `fn` against a fresh server and stops the server however `fn` ends: success, error or abort. */
export async function withModelServer<T>(options: ModelServerOptions, fn: (server: ModelServer) => Promise<T>): Promise<T> {
  const server = await startModelServer(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
    options.log?.info({ pid: server.pid }, 'mlx_lm.server stopped');
  }
}

/**
 * Whether the model's chat template reads `enable_thinking` (Qwen3/3.5 do; thinking is on by default there,
 * which would spend the token budget on reasoning). A template that cannot be found locally (a hub id not yet
 * downloaded) gets no flag: the server downloads it and the eval runs with the template's own default.
 */
export function chatTemplateHasThinkingSwitch(model: string): boolean {
  const dir = localModelDir(model);
  if (!dir) return false;
  for (const name of ['chat_template.jinja', 'tokenizer_config.json', 'chat_template.json']) {
    const file = join(dir, name);
    if (existsSync(file) && readFileSync(file, 'utf8').includes('enable_thinking')) return true;
  }
  return false;
}

function localModelDir(model: string): string | null {
  if (existsSync(join(model, 'config.json'))) return model;
  if (!/^[\w.-]+\/[\w.-]+$/.test(model)) return null;
  const hub = process.env.HF_HUB_CACHE ?? join(process.env.HF_HOME ?? join(homedir(), '.cache', 'huggingface'), 'hub');
  const snapshots = join(hub, `models--${model.replace('/', '--')}`, 'snapshots');
  if (!existsSync(snapshots)) return null;
  const first = readdirSync(snapshots).sort()[0];
  return first ? join(snapshots, first) : null;
}
