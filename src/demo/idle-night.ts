import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Council } from '../council/load.js';
import { chatCompletionsUrl, postChat } from '../eval/client.js';
import { parseCompletion } from '../eval/response.js';
import { GpuLease } from '../fleet/gpu-lease.js';
import type { IdleServer } from '../fleet/idle-server.js';
import type { Logger } from '../log.js';
import { readIdleEvents, readLoaded, type IdleEvent } from './idle-model-server.js';

/**
 * The demo's view of the Mini's daytime model server: the fixed question asked before and after the night, the
 * server's start and stop calls as they happen, and the restart that makes it serve a new champion.
 */
export const DEMO_QUESTION = 'Who are you, and what do you help with?';

export interface Reply {
  /** What the person watching sees: the text, the tool calls, or why there is neither. */
  text: string;
  /** The whole message as the server returned it, for comparing two replies. */
  raw: string;
  /** The experiment whose adapter the server had loaded (null: the bare base model). */
  experimentId: string | null;
}

/** Asks the idle server the fixed question as the council's first agent (its IDENTITY.md as the system message). */
export async function askIdleServer(port: number, council: Council, idleDir: string, timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
  const agent = council.agents[0]!;
  const body = await postChat(
    { url: chatCompletionsUrl(`http://127.0.0.1:${port}`) },
    { messages: [{ role: 'system', content: agent.identity }, { role: 'user', content: DEMO_QUESTION }], temperature: 0, max_tokens: 48 },
    timeoutMs,
    signal,
  );
  const reply = parseCompletion(body);
  const calls = reply.toolCalls.map((c) => `${c.name}(${c.arguments})`).join(' ');
  const text = reply.content.trim()
    ? reply.content.trim()
    : calls
      ? `[tool call] ${calls}`
      : `(no text: finish_reason ${reply.finishReason ?? 'none'}${reply.droppedToolCall ? ', a tool call the server could not parse' : ''})`;
  return { text, raw: JSON.stringify({ content: reply.content, toolCalls: reply.toolCalls }), experimentId: readLoaded(idleDir)?.experimentId ?? null };
}

/** Polls `<idleDir>/events.jsonl` and hands each new start/stop call to `onEvent`, in order. */
export function watchIdleEvents(idleDir: string, onEvent: (event: IdleEvent) => void, everyMs = 500): () => void {
  let seen = readIdleEvents(idleDir).length;
  const poll = () => {
    const events = readIdleEvents(idleDir);
    for (const event of events.slice(seen)) onEvent(event);
    seen = events.length;
  };
  const timer = setInterval(poll, everyMs);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    poll();
  };
}

/**
 * After a keep, the Mini's server should answer with the promoted adapter. The worker restores it after its last
 * GPU job; if that restore ran before the promotion, the server is restarted here, through a GPU lease on the
 * Mini's state folder, so it cannot stop the server under a job a worker is running.
 */
export async function serveChampion(options: {
  idle: IdleServer;
  idleDir: string;
  stateDir: string;
  experimentId: string;
  stableAdapter: string;
  waitMs: number;
  log: Logger;
  signal: AbortSignal;
}): Promise<'already' | 'restarted'> {
  if (!existsSync(join(options.stableAdapter, 'adapters.safetensors'))) {
    throw new Error(`${options.experimentId} was kept but ${options.stableAdapter} holds no adapter; see the planner log`);
  }
  const deadline = Date.now() + options.waitMs;
  while (!(await options.idle.healthy())) {
    options.signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`the idle model server was not restored within ${options.waitMs} ms; see the worker-mini log`);
    await new Promise((r) => setTimeout(r, 250));
  }
  if (readLoaded(options.idleDir)?.experimentId === options.experimentId) return 'already';
  const lease = new GpuLease({ stateDir: options.stateDir, idleServer: options.idle, restoreDelayMs: 0, log: options.log });
  try {
    await lease.run(`serve the new champion ${options.experimentId}`, async () => undefined, options.signal);
    await lease.restoreNow(`serve the new champion ${options.experimentId}`);
  } finally {
    lease.close();
  }
  return 'restarted';
}
