import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TrainJob } from '../queues/contracts.js';
import { TRAIN_PY } from '../src/train/runner.js';
import { trainPyAtCommit, trainPyCodeSha256 } from '../src/train/train-py-code.js';

export type TrainCodeCheck = { ok: true; verified: boolean } | { ok: false; message: string };

/**
 * Whether this checkout's python/train.py is the code of the commit the job names (outside the section, whose
 * values the payload carries). The payload's hash decides when present; else the commit itself when this
 * checkout has it; else the job cannot be checked (a planner that could not read its commit) and may run.
 */
export async function checkTrainCode(payload: TrainJob, machine: string, trainPy = TRAIN_PY): Promise<TrainCodeCheck> {
  const local = trainPyCodeSha256(await readFile(trainPy, 'utf8'));
  let expected = payload.trainPyCodeSha256 ?? null;
  if (expected === null) {
    const committed = await trainPyAtCommit(dirname(trainPy), payload.commit);
    expected = committed === null ? null : trainPyCodeSha256(committed);
  }
  if (expected === null) return { ok: true, verified: false };
  if (expected === local) return { ok: true, verified: true };
  return {
    ok: false,
    message:
      `${trainPy} on ${machine} is not the code of the experiment's commit ${payload.commit.slice(0, 12)} (they differ outside the ` +
      `AGENT MODIFIABLE section), so this machine would train something else: update this checkout (\`git pull\` in ` +
      `${dirname(dirname(trainPy))}, or check out the planner's code) and restart the worker`,
  };
}
