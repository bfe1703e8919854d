import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { Logger } from '../log.js';
import { PROJECT_ROOT, venvPython } from '../project.js';
import { DEFAULT_SEARCH_SPACE, searchSpace } from '../research/hyperparameters.js';
import { readSection, SectionError } from '../research/section.js';
import { classify, parseTrainLine, type ProgressEvent, type TrainResult, type TrainStatus, type ValEvent } from './events.js';
import { mlxEnv } from './mlx-env.js';

export const TRAIN_PY = join(PROJECT_ROOT, 'python', 'train.py');

/** One training job, as python/train.py's command line takes it. */
export interface TrainJob {
  /** Model folder or Hugging Face id. */
  model: string;
  /** Folder with train.jsonl and valid.jsonl (python/prepare.py). */
  dataDir: string;
  /** Where the adapter is written. */
  outDir: string;
  budgetSeconds: number;
  seed: number;
  maxSeqLength?: number;
  batchSize?: number;
  stepsPerEval?: number;
  valBatches?: number;
  /** The table the section is checked against, python/search-spaces/<name>.json. @defaultValue qwen */
  searchSpace?: string;
}

export interface RunTrainerOptions {
  /** Extra time after the budget before SIGTERM; train.py normally stops itself before the budget. */
  graceSeconds: number;
  /** Between SIGTERM and SIGKILL. @defaultValue 10_000 */
  killAfterMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent | ValEvent) => void;
  onStderr?: (line: string) => void;
  /** The script to run. @defaultValue python/train.py of this checkout */
  trainPy?: string;
  python?: string;
  /** When known, PER_AGENT_WEIGHTS is checked against exactly these agents before starting. */
  agentIds?: readonly string[];
  log?: Logger;
}

export interface TrainOutcome {
  status: TrainStatus;
  /** The result line, if train.py printed one. */
  result: TrainResult | null;
  exitCode: number | undefined;
  signal: string | undefined;
  seconds: number;
  /** Why, in one line: the result's message, the section problem, or the end of stderr for a crash. */
  message: string;
  stderrTail: string[];
}

const STDERR_TAIL_LINES = 40;

function trainArgs(trainPy: string, job: TrainJob): string[] {
  const args = [
    trainPy,
    '--model', job.model,
    '--data', job.dataDir,
    '--out', job.outDir,
    '--budget-seconds', String(job.budgetSeconds),
    '--seed', String(job.seed),
  ];
  if (job.maxSeqLength !== undefined) args.push('--max-seq-length', String(job.maxSeqLength));
  if (job.batchSize !== undefined) args.push('--batch-size', String(job.batchSize));
  if (job.stepsPerEval !== undefined) args.push('--steps-per-eval', String(job.stepsPerEval));
  if (job.valBatches !== undefined) args.push('--val-batches', String(job.valBatches));
  if (job.searchSpace !== undefined) args.push('--search-space', job.searchSpace);
  return args;
}

/** Signals the whole process group (train.py and anything it started, e.g. the compiler MLX runs for kernels). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Runs python/train.py once. Progress lines stream to `onProgress`; the budget plus the grace period is enforced
 * with SIGTERM then SIGKILL to the process group; aborting `signal` stops it the same way. Never throws for a
 * failed run: the outcome says what happened.
 */
export async function runTrainer(job: TrainJob, options: RunTrainerOptions): Promise<TrainOutcome> {
  const started = Date.now();
  const trainPy = options.trainPy ?? TRAIN_PY;
  const seconds = () => (Date.now() - started) / 1000;
  const base = { result: null, exitCode: undefined, signal: undefined, stderrTail: [] as string[] };

  if (options.signal?.aborted) return { ...base, status: 'canceled', seconds: 0, message: 'canceled before start' };
  const space = job.searchSpace ?? DEFAULT_SEARCH_SPACE;
  try {
    readSection(readFileSync(trainPy, 'utf8'), options.agentIds, searchSpace(space).table);
  } catch (error) {
    if (!(error instanceof SectionError)) throw error;
    return { ...base, status: 'bad-config', seconds: seconds(), message: `invalid AGENT MODIFIABLE section in ${trainPy} (search space ${space}): ${error.message}` };
  }

  const child = execa(options.python ?? venvPython(), trainArgs(trainPy, job), {
    env: mlxEnv(),
    extendEnv: false,
    // Its own process group, so a kill reaches the grandchildren too.
    detached: true,
    stdin: 'ignore',
    buffer: false,
    reject: false,
  });
  const pid = child.pid;
  let timedOut = false;
  let canceled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'cancel') => {
    if (timedOut || canceled) return;
    if (why === 'timeout') timedOut = true;
    else canceled = true;
    options.log?.warn({ pid, why }, 'stopping the trainer (SIGTERM, then SIGKILL)');
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), options.killAfterMs ?? 10_000);
  };
  const deadline = setTimeout(() => stop('timeout'), (job.budgetSeconds + options.graceSeconds) * 1000);
  const onAbort = () => stop('cancel');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let result: TrainResult | null = null;
  const stderrTail: string[] = [];
  const stdoutDone = (async () => {
    for await (const line of createInterface({ input: child.stdout! })) {
      const event = parseTrainLine(line);
      if (event?.event === 'result') result = event;
      else if (event) options.onProgress?.(event);
      else if (line.trim()) options.log?.warn({ line }, 'unexpected line on train.py stdout');
    }
  })();
  const stderrDone = (async () => {
    for await (const line of createInterface({ input: child.stderr! })) {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      options.onStderr?.(line);
    }
  })();

  let exit: Awaited<typeof child>;
  try {
    exit = await child;
    await Promise.all([stdoutDone, stderrDone]);
  } finally {
    clearTimeout(deadline);
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
    // Whatever train.py left running in its group goes with it.
    killGroup(pid, 'SIGKILL');
  }

  const final = result as TrainResult | null;
  const status = classify({ canceled, timedOut, exitCode: exit.exitCode, result: final });
  const lastError = [...stderrTail].reverse().find((l) => /error|exception|traceback/i.test(l)) ?? stderrTail.at(-1) ?? '';
  const message =
    status === 'canceled' ? 'canceled'
    : status === 'timeout' ? `no result within the budget of ${job.budgetSeconds}s plus ${options.graceSeconds}s grace`
    : status === 'crashed' ? `train.py ended ${exit.signal ? `by ${exit.signal}` : `with exit code ${exit.exitCode}`} without a valid result: ${lastError}`
    : status === 'bad-config' ? (stderrTail.find((l) => l.startsWith('error:')) ?? lastError)
    : final?.message ?? status;
  return { status, result: final, exitCode: exit.exitCode, signal: exit.signal, seconds: seconds(), message, stderrTail };
}
