import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { execa } from 'execa';
import { z } from 'zod';
import { EnvironmentError, UsageError } from '../errors.js';
import { PROJECT_ROOT, venvPython } from '../project.js';
import type { StudyAxis, StudyTrial } from './study.js';

/**
 * python/planner.py as a child process: one JSON request on stdin, one JSON line back, validated here. The
 * loop starts one per proposal (Optuna's import costs about a second, nothing next to a training run);
 * `SamplerServer` keeps one `--serve` process for many requests, which the benchmark needs.
 */
export const PLANNER_SCRIPT = join(PROJECT_ROOT, 'python', 'planner.py');

export const SAMPLERS = ['tpe', 'gp', 'cmaes', 'random'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface ProposeRequest {
  command: 'propose';
  sampler: SamplerName;
  seed: number;
  candidates: number;
  axes: StudyAxis[];
  trials: StudyTrial[];
  tried: Record<string, number>[];
}

export interface ImportanceRequest {
  command: 'importance';
  axes: StudyAxis[];
  trials: StudyTrial[];
}

const plannerEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PYTHONUNBUFFERED: '1' });

const importances = z.record(z.string(), z.number().min(0)).nullable();

export const proposeResponseSchema = z.strictObject({
  event: z.literal('result'),
  candidates: z.array(z.strictObject({ params: z.record(z.string(), z.number()), why: z.string() })),
  exhausted: z.boolean(),
  decided: z.number().int().nonnegative(),
  importances,
});
export type ProposeResponse = z.infer<typeof proposeResponseSchema>;

export const importanceResponseSchema = z.strictObject({
  event: z.literal('result'),
  importances,
  complete: z.number().int().nonnegative(),
  minimum: z.number().int().positive(),
});
export type ImportanceResponse = z.infer<typeof importanceResponseSchema>;

const errorSchema = z.object({ event: z.literal('error'), message: z.string() });

/** Sends requests to python/planner.py; the loop's and the benchmark's transports both implement it. */
export interface SamplerClient {
  propose(request: ProposeRequest, signal?: AbortSignal): Promise<ProposeResponse>;
  importance(request: ImportanceRequest, signal?: AbortSignal): Promise<ImportanceResponse>;
}

function parseAnswer<T>(line: string, schema: z.ZodType<T>, exitCode: number | null, stderr: string): T {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new EnvironmentError(`python/planner.py answered with no JSON line (exit code ${exitCode ?? '-'}): ${stderr.trim().split('\n').slice(-5).join('\n') || line.slice(0, 200)}`);
  }
  const error = errorSchema.safeParse(json);
  if (error.success) {
    if (exitCode === 2 || exitCode === null) throw new UsageError(`python/planner.py: ${error.data.message}`);
    throw new EnvironmentError(`python/planner.py failed: ${error.data.message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new EnvironmentError(`python/planner.py answered something unexpected: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** One child process per request. */
export function oneShotSampler(python = venvPython()): SamplerClient {
  const run = async <T>(request: object, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> => {
    const result = await execa(python, [PLANNER_SCRIPT], {
      env: plannerEnv(),
      extendEnv: false,
      input: JSON.stringify(request),
      reject: false,
      ...(signal ? { cancelSignal: signal } : {}),
      forceKillAfterDelay: 5_000,
    });
    if (result.isCanceled) throw new EnvironmentError('python/planner.py was canceled');
    const last = String(result.stdout ?? '').trim().split('\n').at(-1) ?? '';
    return parseAnswer(last, schema, result.exitCode ?? null, String(result.stderr ?? ''));
  };
  return {
    propose: (request, signal) => run(request, proposeResponseSchema, signal),
    importance: (request, signal) => run(request, importanceResponseSchema, signal),
  };
}

/** One long-lived `planner.py --serve` process answering requests in order. Close it when done. */
export class SamplerServer implements SamplerClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: Array<(line: string | null) => void> = [];
  private stderr = '';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(python = venvPython()) {
    this.child = spawn(python, [PLANNER_SCRIPT, '--serve'], { env: plannerEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4_000);
    });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    this.child.on('close', () => {
      for (const w of this.waiting.splice(0)) w(null);
    });
  }

  private request<T>(request: object, schema: z.ZodType<T>): Promise<T> {
    const next = this.queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          this.waiting.push((line) => {
            if (line === null) reject(new EnvironmentError(`python/planner.py --serve exited: ${this.stderr.trim().split('\n').slice(-5).join('\n')}`));
            else {
              try {
                resolve(parseAnswer(line, schema, null, this.stderr));
              } catch (error) {
                reject(error as Error);
              }
            }
          });
          this.child.stdin.write(`${JSON.stringify(request)}\n`);
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  propose(request: ProposeRequest): Promise<ProposeResponse> {
    return this.request(request, proposeResponseSchema);
  }

  importance(request: ImportanceRequest): Promise<ImportanceResponse> {
    return this.request(request, importanceResponseSchema);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    await closed;
  }
}
