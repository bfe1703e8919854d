import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/load.js';
import { loadCouncil } from '../council/load.js';
import type { Council } from '../council/schema.js';
import { UsageError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { ChildRegistry, childRegistryDir } from '../proc/child-registry.js';
import { chatCompletionsUrl, postChat, type ChatEndpoint } from './client.js';
import { assertionContexts, judgeCase } from './judge.js';
import { withModelServer } from './model-server.js';
import { resolveModelName } from './model-name.js';
import { readRecords, readRunInfo, writeRun, type CaseRecord, type RunInfo } from './records.js';
import { parseCompletion } from './response.js';
import { summarize } from './scoring.js';
import { loadSuite, type EvalCase, type Suite } from './suite.js';
import type { EvalSummary } from './summary.js';

export interface EvalProgress {
  done: number;
  total: number;
}

export interface RunEvaluationOptions {
  config: Config;
  /** A local folder, a Hugging Face id, or "tiny". */
  model: string;
  adapterPath?: string | null;
  /** The adapter's identity as the trainer computed it; hashed here from adapters.safetensors when absent. */
  adapterSha256?: string | null;
  signal?: AbortSignal;
  onProgress?: (progress: EvalProgress) => void;
  log?: Logger;
  /** Overrides eval.concurrency (benchmarks and timing runs). */
  concurrency?: number;
  /** Called with the pid of the mlx_lm.server this run spawns. */
  onServerSpawn?: (pid: number) => void;
}

export interface EvalRun {
  runId: string;
  /** `<state>/evals/<runId>`: records.jsonl, run.json, summary.json. */
  dir: string;
  summary: EvalSummary;
}

/**
 * Evaluates one model (with an optional adapter) on the council's suite: starts mlx_lm.server (or uses
 * eval.endpoint), sends every case with greedy decoding and a fixed seed, judges the replies, and writes the run
 * folder. The folder appears only when the run completes; the server is stopped however the run ends.
 */
export async function runEvaluation(options: RunEvaluationOptions): Promise<EvalRun> {
  const { config } = options;
  const log = options.log ?? logger('eval');
  const started = Date.now();
  const council = loadCouncil(config.council.dir);
  const suite = loadSuite(council);
  const adapterPath = options.adapterPath ? resolve(options.adapterPath) : null;
  const adapterSha256 = options.adapterSha256 ?? (adapterPath ? hashAdapter(adapterPath) : null);
  const concurrency = options.concurrency ?? config.eval.concurrency;
  const runId = newRunId();
  const dir = join(config.paths.state, 'evals', runId);
  const sampling = { temperature: 0, seed: config.eval.seed, maxTokens: config.eval.maxTokens };

  let serverStartSeconds = 0;
  let fingerprint: string | null = null;
  const generate = async (endpoint: ChatEndpoint) => {
    const t0 = Date.now();
    const records = await runCases(suite, council, endpoint, {
      config,
      concurrency,
      signal: options.signal,
      onProgress: options.onProgress,
      onFingerprint: (f) => (fingerprint ??= f),
    });
    return { records, generationSeconds: (Date.now() - t0) / 1000 };
  };

  let resolvedModel = options.model;
  let outcome: { records: CaseRecord[]; generationSeconds: number };
  const endpoint = config.eval.endpoint;
  if (endpoint) {
    if (adapterPath) {
      throw new UsageError('eval.endpoint is set, so no server is started and --adapter cannot be applied; load the adapter in your server or remove eval.endpoint');
    }
    outcome = await generate({ url: chatCompletionsUrl(endpoint.url), model: endpoint.model });
  } else {
    resolvedModel = await resolveModelName(options.model, config, { signal: options.signal, log });
    const t0 = Date.now();
    outcome = await withModelServer(
      {
        model: resolvedModel,
        adapterPath,
        maxTokens: config.eval.maxTokens,
        startTimeoutMs: config.eval.serverStartTimeoutMs,
        signal: options.signal,
        log,
        onSpawn: options.onServerSpawn,
        registry: new ChildRegistry(childRegistryDir(config.paths.state)),
      },
      async (server) => {
        serverStartSeconds = (Date.now() - t0) / 1000;
        try {
          return await generate({ url: chatCompletionsUrl(server.url) });
        } catch (error) {
          if (options.signal?.aborted) throw error;
          throw new Error(`${(error as Error).message}\nlast mlx_lm.server output:\n${server.logTail()}`, { cause: error });
        }
      },
    );
  }

  const createdAt = new Date(started).toISOString();
  const seconds = (Date.now() - started) / 1000;
  const info: RunInfo = {
    runId,
    createdAt,
    model: options.model,
    resolvedModel,
    adapterPath,
    adapterSha256,
    suiteSha256: suite.sha256,
    councilDir: council.dir,
    server: endpoint ? endpoint.url : 'mlx_lm.server',
    serverFingerprint: fingerprint,
    sampling,
    concurrency,
    serverStartSeconds,
    generationSeconds: outcome.generationSeconds,
    rescoredFrom: null,
  };
  const summary = summaryOf(info, council, suite, outcome.records, seconds);
  writeRun(dir, info, outcome.records, summary);
  log.info({ runId, dir, overall: summary.overall, jailbreak: summary.jailbreak, seconds }, 'eval run written');
  return { runId, dir, summary };
}

interface CaseRunOptions {
  config: Config;
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: (progress: EvalProgress) => void;
  onFingerprint: (fingerprint: string) => void;
}

/** Sends the cases with at most `concurrency` in flight; records come back in suite order whatever the timing. */
async function runCases(suite: Suite, council: Council, endpoint: ChatEndpoint, options: CaseRunOptions): Promise<CaseRecord[]> {
  const contexts = assertionContexts(council);
  const records: CaseRecord[] = new Array(suite.cases.length);
  let next = 0;
  let done = 0;
  const total = suite.cases.length;
  // The first failure stops the other workers too, so nothing keeps talking to a server that is being stopped.
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  options.onProgress?.({ done, total });
  const runOne = async (c: EvalCase): Promise<CaseRecord> => {
    const request = buildRequest(c, council, options.config);
    const t0 = Date.now();
    const body = await postChat(endpoint, request, options.config.eval.requestTimeoutMs, signal);
    const fp = (body as { system_fingerprint?: unknown }).system_fingerprint;
    if (typeof fp === 'string') options.onFingerprint(fp);
    const parsed = parseCompletion(body);
    return {
      id: c.id,
      agent: c.agent,
      category: c.category,
      description: c.description,
      request,
      response: body,
      parsed,
      ...judgeCase(c, parsed, contexts.get(c.agent)!),
      seconds: (Date.now() - t0) / 1000,
    };
  };
  const worker = async () => {
    while (next < suite.cases.length) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (failed.signal.aborted) return;
      const index = next;
      next += 1;
      const c = suite.cases[index]!;
      try {
        records[index] = await runOne(c);
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (failed.signal.aborted) return;
        failed.abort();
        throw new Error(`case ${c.id}: ${(error as Error).message}`, { cause: error });
      }
      done += 1;
      options.onProgress?.({ done, total });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, total)) }, worker));
  return records;
}

/** The agent's IDENTITY.md as the system message and its tools; greedy decoding with a seed (no batching). */
export function buildRequest(c: EvalCase, council: Council, config: Config): Record<string, unknown> {
  const agent = council.agents.find((a) => a.id === c.agent)!;
  return {
    messages: [{ role: 'system', content: agent.identity }, ...c.messages],
    tools: agent.tools,
    temperature: 0,
    seed: config.eval.seed,
    max_tokens: config.eval.maxTokens,
  };
}

/** Records do not hold the split: it is the suite's, so a rescore with a re-split suite scores the new split. */
function summaryOf(info: RunInfo, council: Council, suite: Suite, records: readonly CaseRecord[], seconds: number): EvalSummary {
  const splits = new Map(suite.cases.map((c) => [c.id, c.split]));
  return summarize({
    runId: info.runId,
    createdAt: info.createdAt,
    model: info.model,
    adapterSha256: info.adapterSha256,
    suiteSha256: info.suiteSha256,
    seconds,
    agents: council.agents.map((a) => a.id),
    cases: records.map((r) => ({ id: r.id, agent: r.agent, category: r.category, score: r.score, pass: r.pass, split: splits.get(r.id) ?? 'dev' })),
  });
}

/**
 * Judges a finished run's recorded replies again with the current suite and assertion code, without generating,
 * and writes the result as a new run next to the old one. Every case of the current suite needs a record.
 */
export function rescore(runDir: string, options: { log?: Logger } = {}): EvalRun {
  const log = options.log ?? logger('eval');
  const started = Date.now();
  const source = resolve(runDir);
  const info = readRunInfo(source);
  const records = new Map(readRecords(source).map((r) => [r.id, r]));
  const council = loadCouncil(info.councilDir);
  const suite = loadSuite(council);
  const contexts = assertionContexts(council);
  const missing = suite.cases.filter((c) => !records.has(c.id)).map((c) => c.id);
  if (missing.length > 0) {
    throw new UsageError(`run ${info.runId} has no records for ${missing.length} case(s) of the current suite (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}); evaluate again instead`);
  }
  const dropped = [...records.keys()].filter((id) => !suite.cases.some((c) => c.id === id));
  if (dropped.length > 0) log.warn({ dropped }, 'records of cases no longer in the suite are left out');
  const rescored: CaseRecord[] = suite.cases.map((c) => {
    const old = records.get(c.id)!;
    const parsed = parseCompletion(old.response);
    return { ...old, category: c.category, description: c.description, parsed, ...judgeCase(c, parsed, contexts.get(c.agent)!) };
  });
  const runId = newRunId();
  const dir = join(dirname(source), runId);
  const next: RunInfo = { ...info, runId, createdAt: new Date(started).toISOString(), suiteSha256: suite.sha256, rescoredFrom: info.runId };
  if (info.suiteSha256 !== suite.sha256) log.warn({ from: info.suiteSha256, to: suite.sha256 }, 'the suite changed since this run; replies were generated for the old one');
  const summary = summaryOf(next, council, suite, rescored, (Date.now() - started) / 1000);
  writeRun(dir, next, rescored, summary);
  return { runId, dir, summary };
}

/** Sortable and unique: eval-20260101T203000Z-1a2b3c. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `eval-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The adapter's weights define it: sha256 of adapters.safetensors (the folder's config alone does not). */
export function hashAdapter(path: string): string {
  if (!existsSync(path)) throw new UsageError(`adapter ${path} does not exist`);
  const file = statSync(path).isDirectory() ? join(path, 'adapters.safetensors') : path;
  if (!existsSync(file)) throw new UsageError(`adapter folder ${path} has no adapters.safetensors; point --adapter at an mlx-lm adapter folder`);
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
