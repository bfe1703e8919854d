import { join } from 'node:path';
import { execa } from 'execa';
import type { Trainer } from '../../workers/contracts.js';

/**
 * The Trainer the fleet drills use: a real child process (test/support/step-trainer.mjs) run through execa
 * with the job's AbortSignal, SIGTERM then SIGKILL, its JSON lines parsed as python/train.py's would be.
 * STEP_TRAINER_MS sets each step's duration, so the laptop's runs can be made long enough to sleep through.
 */
export function stepTrainer(stepMs: number): Trainer {
  return async (request) => {
    const iters = Number(request.values.ITERS ?? 50);
    // Wall time from spawn to exit, as src/train/runner.ts measures python/train.py: starting the process is the trainer's.
    const started = Date.now();
    const child = execa(
      process.execPath,
      [join(import.meta.dirname, 'step-trainer.mjs'), request.runDir, request.datasetDir, String(iters), String(stepMs), JSON.stringify(request.values)],
      { cancelSignal: request.signal, forceKillAfterDelay: 2_000, reject: false, lines: true, buffer: { stdout: false } },
    );
    type Result = { status: 'ok'; iterations: number; trainLoss: number; seconds: number; adapterDir: string };
    let result = null as Result | null;
    for await (const line of child.iterable({ from: 'stdout' })) {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.event === 'progress') {
        request.onProgress({
          iteration: event.iteration as number,
          iters: event.iters as number,
          trainLoss: event.trainLoss as number,
          etaSeconds: event.etaSeconds as number,
        });
      } else if (event.event === 'result') {
        result = event as unknown as Result;
      }
    }
    const finished = await child;
    if (finished.isCanceled) return { ...empty(), status: 'canceled' };
    if (!result || finished.exitCode !== 0) return { ...empty(), status: 'crashed', message: `exit ${finished.exitCode}` };
    return { ...empty(), status: 'ok', iterations: result.iterations, trainLoss: result.trainLoss, seconds: (Date.now() - started) / 1000, adapterDir: result.adapterDir };
  };
}

function empty() {
  return {
    iterations: 0,
    trainLoss: null,
    valLoss: null,
    initialValLoss: null,
    seconds: 0,
    tokensPerSecond: null,
    peakMemoryGb: null,
    adapterDir: null,
  };
}
