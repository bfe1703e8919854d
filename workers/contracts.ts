import type { EvalSummary } from '../src/eval/summary.js';
import type { HyperParameters } from '../src/research/hyperparameters.js';
import type { TrainingSummary } from '../src/research/executor.js';

/**
 * What the processors need from the trainer and the evaluator, injected so the wiring per machine lives in
 * one place (workers/wiring.ts) and the processors stay about queues, leases and artifacts.
 */
export interface TrainProgress {
  iteration: number;
  iters: number;
  trainLoss: number | null;
  etaSeconds: number | null;
}

export interface TrainRequest {
  /** This attempt's own folder: `<state>/runs/<jobId>/<token>/`; a late duplicate never writes into another's. */
  runDir: string;
  mode: 'full' | 'proxy';
  /** The base model as configured on this machine for the mode. */
  model: string;
  datasetDir: string;
  /** The search space the values were checked against (python/search-spaces/<name>.json). */
  searchSpace: string;
  values: HyperParameters;
  signal: AbortSignal;
  onProgress: (progress: TrainProgress) => void;
}

export type TrainOutcome = Omit<TrainingSummary, 'adapterSha256' | 'datasetSha256' | 'machine'> & {
  /** The adapter folder the trainer wrote, when it wrote one. */
  adapterDir: string | null;
};

export type Trainer = (request: TrainRequest) => Promise<TrainOutcome>;

export interface EvalRequest {
  mode: 'full' | 'proxy';
  model: string;
  adapterPath: string | null;
  adapterSha256: string | null;
  signal: AbortSignal;
  onProgress: (progress: { done: number; total: number }) => void;
}

export type Evaluator = (request: EvalRequest) => Promise<{ runId: string; dir: string; summary: EvalSummary }>;

/** Why a running job's signal was aborted; each ends the job differently. */
export type CancelReason = 'shutdown' | 'lock-lost' | 'morning-deadline' | 'preempted';

export function cancelReasonOf(signal: AbortSignal): CancelReason | null {
  if (!signal.aborted) return null;
  const reason: unknown = signal.reason;
  return reason === 'shutdown' || reason === 'lock-lost' || reason === 'morning-deadline' || reason === 'preempted' ? reason : 'shutdown';
}

/**
 * When GPU jobs may not start (the idle server's daytime, see idleServer.nightStart): the time they may, in
 * epoch ms, or null when they may start now.
 */
export type GpuWindow = (now: Date) => number | null;
