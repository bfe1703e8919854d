import { z } from 'zod';
import { evalSummarySchema, type EvalSummary } from '../eval/summary.js';

/**
 * The seam between the research loop (planner side) and the fleet (queues and workers). The loop decides what
 * to try and what to keep; an executor gets one experiment trained and evaluated somewhere and reports back.
 * The BullMQ implementation keeps all of an experiment's state in Redis, so a restarted planner can `wait`
 * again for an experiment it submitted before.
 */
export type RequestedMode = 'auto' | 'full' | 'proxy';
export type Mode = 'full' | 'proxy';

/** Values of the AGENT MODIFIABLE section, as validated by src/research/hyperparameters.ts. */
export type SectionValues = Record<string, number | string | Record<string, number>>;

export interface ExperimentRequest {
  /** Unique, filesystem- and BullMQ-safe: [A-Za-z0-9_-], not all digits, no ':'. */
  experimentId: string;
  /** A baseline evaluates the current champion (its adapter, or the bare base model) and trains nothing. */
  kind: 'baseline' | 'experiment';
  mode: RequestedMode;
  /** The commit holding this experiment's section (the champion's commit for a baseline). */
  commit: string;
  values: SectionValues;
  /** Baseline only: the champion adapter to evaluate for that mode, or null for the bare base model. */
  championAdapterSha256?: string | null;
  /** Reuse an already prepared dataset with the same content hash instead of preparing again. */
  skipPrepare?: boolean;
  /**
   * The code of python/train.py at `commit`, outside its section (src/train/train-py-code.ts); the executor fills
   * it in from the repository, and a worker whose own train.py differs refuses the job.
   */
  trainPyCodeSha256?: string;
  /** Who chose the section, for results.tsv's `proposer` column; requests stored before it existed lack it. */
  proposer?: 'sampler' | 'claude' | 'hand' | 'baseline';
}

export const trainingSummarySchema = z.strictObject({
  status: z.enum(['ok', 'budget', 'diverged', 'failed', 'timeout', 'crashed', 'bad-config', 'canceled']),
  iterations: z.number().int().nonnegative(),
  trainLoss: z.number().nullable(),
  valLoss: z.number().nullable(),
  initialValLoss: z.number().nullable(),
  seconds: z.number().nonnegative(),
  tokensPerSecond: z.number().nullable(),
  peakMemoryGb: z.number().nullable(),
  adapterSha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  datasetSha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  /** Machine that trained it (from the worker's fleet.machine). */
  machine: z.string(),
  message: z.string().optional(),
});
export type TrainingSummary = z.infer<typeof trainingSummarySchema>;

/** The summary of a training that produced nothing to evaluate: every figure empty, the reason in `message`. */
export function emptyTraining(
  status: TrainingSummary['status'],
  message: string,
  where: { machine: string; datasetSha256: string | null },
): TrainingSummary {
  return {
    status,
    iterations: 0,
    trainLoss: null,
    valLoss: null,
    initialValLoss: null,
    seconds: 0,
    tokensPerSecond: null,
    peakMemoryGb: null,
    adapterSha256: null,
    datasetSha256: where.datasetSha256,
    machine: where.machine,
    message,
  };
}

export const experimentExecutionSchema = z.strictObject({
  experimentId: z.string(),
  mode: z.enum(['full', 'proxy']),
  /** Why this mode: "laptop heartbeat live", "laptop away", "full job not picked up within 10 min", "requested". */
  modeReason: z.string(),
  /** The base model of that mode, as configured. */
  model: z.string(),
  /** Null for a baseline, or when training failed before producing anything. */
  training: trainingSummarySchema.nullable(),
  /** The adapter that was evaluated, if any, and where it sits on the planner's machine. */
  adapterSha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  adapterPath: z.string().nullable(),
  /** Null when training failed so there was nothing to evaluate. */
  eval: evalSummarySchema.nullable(),
  /** The eval run's folder (records.jsonl + summary.json) on the planner's machine. */
  evalRunDir: z.string().nullable(),
});
export type ExperimentExecution = z.infer<typeof experimentExecutionSchema> & { eval: EvalSummary | null };

export interface ExperimentProgress {
  experimentId: string;
  stage: 'queued' | 'prepare' | 'train' | 'eval';
  mode?: Mode;
  machine?: string;
  /** Stage-specific: { iteration, iters, trainLoss, etaSeconds } for train; { done, total } for eval. */
  detail?: Record<string, unknown>;
}

export interface ExperimentExecutor {
  /** Idempotent by experimentId: submitting the same id twice runs it once. */
  submit(request: ExperimentRequest): Promise<void>;
  /** Resolves when the experiment is trained and evaluated (or failed); rejects only on abort or lost state. */
  wait(
    experimentId: string,
    options: {
      signal?: AbortSignal;
      onProgress?: (progress: ExperimentProgress) => void;
      /** Called once when its training has ended: it is being evaluated, or done (a baseline: once it is evaluated or done). */
      onTrained?: () => void;
    },
  ): Promise<ExperimentExecution>;
  /** Experiments submitted and not yet acknowledged with `settle`: what a restarted planner must wait for. */
  pending(): Promise<ExperimentRequest[]>;
  /** The planner has recorded its decision: forget the experiment's in-flight state. */
  settle(experimentId: string): Promise<void>;
}
