import { z } from 'zod';

/** The JSON lines python/train.py prints on stdout, validated at the boundary. */
const loss = z.number().nullable();

export const progressEventSchema = z.object({
  event: z.literal('progress'),
  iteration: z.int().nonnegative(),
  train_loss: loss,
  learning_rate: z.number().nullable(),
  tokens_per_second: z.number().nullable(),
  peak_memory_gb: z.number().nullable(),
  elapsed_seconds: z.number(),
  eta_seconds: z.number(),
});
export type ProgressEvent = z.infer<typeof progressEventSchema>;

export const valEventSchema = z.object({
  event: z.literal('val'),
  iteration: z.int().nonnegative(),
  val_loss: loss,
});
export type ValEvent = z.infer<typeof valEventSchema>;

export const trainResultSchema = z.object({
  event: z.literal('result'),
  status: z.enum(['ok', 'budget', 'diverged', 'failed']),
  iterations: z.int().nonnegative(),
  train_loss: loss,
  val_loss: loss,
  initial_val_loss: loss,
  seconds: z.number().nonnegative(),
  tokens_per_second: z.number().nullable(),
  peak_memory_gb: z.number().nullable(),
  adapter_path: z.string().nullable(),
  adapter_sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  message: z.string().optional(),
});
export type TrainResult = z.infer<typeof trainResultSchema>;

const lineSchema = z.discriminatedUnion('event', [progressEventSchema, valEventSchema, trainResultSchema]);
export type TrainLine = z.infer<typeof lineSchema>;

/** One stdout line as an event, or null for anything that is not one of train.py's JSON lines. */
export function parseTrainLine(line: string): TrainLine | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(trimmed);
  } catch {
    return null;
  }
  const parsed = lineSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export type TrainStatus = 'ok' | 'budget' | 'diverged' | 'failed' | 'timeout' | 'crashed' | 'bad-config' | 'canceled';

/**
 * The outcome of one run from what the runner saw. Our own kill decisions come first (a canceled or timed-out
 * run may still have printed a result), then exit code 2 (bad section or arguments), then the result line
 * when its status agrees with the exit code; anything else is a crash.
 */
export function classify(input: {
  canceled: boolean;
  timedOut: boolean;
  exitCode: number | undefined;
  result: TrainResult | null;
}): TrainStatus {
  if (input.canceled) return 'canceled';
  if (input.timedOut) return 'timeout';
  if (input.exitCode === 2) return 'bad-config';
  const expected: Record<TrainResult['status'], number> = { ok: 0, budget: 0, failed: 1, diverged: 3 };
  if (input.result && input.exitCode === expected[input.result.status]) return input.result.status;
  return 'crashed';
}
