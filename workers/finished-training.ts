import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeFolder, manifestBytes, sha256Of } from '../src/fleet/bundle.js';
import { writeFileAtomic } from '../src/fs/atomic.js';
import { trainingSummarySchema } from '../src/research/executor.js';
import type { TrainJob } from '../queues/contracts.js';
import type { TrainOutcome } from './contracts.js';

/**
 * Trainings this machine finished, kept per job so that a result BullMQ refused (the lock expired during a
 * Redis outage: "Missing lock") is published on the retry instead of trained again. A record is reused only
 * for the same job with the same payload and base model, and only while the adapter folder still hashes to
 * what it held when training ended.
 */
const recordSchema = z.strictObject({
  key: z.string(),
  outcome: trainingSummarySchema.omit({ adapterSha256: true, datasetSha256: true, machine: true }),
  adapterDir: z.string(),
  /** The adapter folder's bundle hash (src/fleet/bundle.ts) when training ended. */
  adapterBundle: z.string(),
  finishedAt: z.string(),
});

export class FinishedTrainings {
  constructor(private readonly dir: string) {}

  /** What makes two attempts the same training: the payload and this machine's base model for the mode. */
  static keyOf(payload: TrainJob, model: string): string {
    return sha256Of(JSON.stringify({ payload: sortKeys(payload), model }));
  }

  /** Remembers a training that produced an adapter, before anything is sent anywhere. */
  async save(jobId: string, key: string, outcome: TrainOutcome): Promise<void> {
    if (!outcome.adapterDir || (outcome.status !== 'ok' && outcome.status !== 'budget')) return;
    const { adapterDir, ...rest } = outcome;
    const adapterBundle = sha256Of(manifestBytes(await describeFolder(adapterDir)));
    mkdirSync(this.dir, { recursive: true });
    const record = { key, outcome: rest, adapterDir, adapterBundle, finishedAt: new Date().toISOString() };
    writeFileAtomic(this.file(jobId), `${JSON.stringify(recordSchema.parse(record))}\n`);
  }

  /** The finished training of this very job, if its adapter is complete and unchanged; else null. */
  async load(jobId: string, key: string): Promise<TrainOutcome | null> {
    let text: string;
    try {
      text = await readFile(this.file(jobId), 'utf8');
    } catch {
      return null;
    }
    const parsed = recordSchema.safeParse(safeJson(text));
    if (!parsed.success || parsed.data.key !== key || !existsSync(parsed.data.adapterDir)) return null;
    const current = await describeFolder(parsed.data.adapterDir).catch(() => null);
    if (!current || sha256Of(manifestBytes(current)) !== parsed.data.adapterBundle) return null;
    return { ...parsed.data.outcome, adapterDir: parsed.data.adapterDir };
  }

  private file(jobId: string): string {
    return join(this.dir, `${jobId.replace(/[^A-Za-z0-9_-]/g, '-')}.json`);
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
