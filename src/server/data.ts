import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { caseRecordSchema, type CaseRecord } from '../eval/records.js';
import { readPresence } from '../fleet/presence.js';
import { readResults } from '../research/results-file.js';
import type { ParsedResults } from '../research/results-format.js';
import { machinesFromPresence, type RunningJob, type StatusView } from './status-view.js';

/** The files the dashboard reads; all of them are written by the loop and the eval worker, never by the server. */
export interface DataPaths {
  results: string;
  /** `logs/`: each decided experiment's archived eval run sits in `logs/<id>/eval/`. */
  logs: string;
  /** `<state>`: eval runs not archived yet are in `<state>/evals/<runId>/`. */
  state: string;
}

export const EXPERIMENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function loadResults(paths: DataPaths): { parsed: ParsedResults; error: string | null } {
  try {
    return { parsed: readResults(paths.results), error: null };
  } catch (error) {
    return { parsed: { agents: [], rows: [], corrupt: [] }, error: (error as Error).message };
  }
}

function inside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Where an experiment's records.jsonl is: the archived copy in `logs/<id>/eval/`, else the eval run named in
 * `logs/<id>/execution.json`, accepted only inside `<state>/evals/` (the file could name any path).
 */
export function recordsFile(paths: DataPaths, experimentId: string): string | null {
  if (!EXPERIMENT_ID.test(experimentId)) return null;
  const archived = join(paths.logs, experimentId, 'eval', 'records.jsonl');
  if (existsSync(archived)) return archived;
  const execution = join(paths.logs, experimentId, 'execution.json');
  if (!existsSync(execution)) return null;
  try {
    const runDir = (JSON.parse(readFileSync(execution, 'utf8')) as { evalRunDir?: unknown }).evalRunDir;
    if (typeof runDir !== 'string' || !inside(join(paths.state, 'evals'), runDir)) return null;
    const file = join(runDir, 'records.jsonl');
    return existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

export function readRecords(file: string): { records: CaseRecord[]; badLines: number[] } {
  const records: CaseRecord[] = [];
  const badLines: number[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const parsed = caseRecordSchema.safeParse(JSON.parse(line));
        if (parsed.success) records.push(parsed.data);
        else badLines.push(i + 1);
      } catch {
        badLines.push(i + 1);
      }
    });
  return { records, badLines };
}

function experimentIdOf(data: unknown): string | null {
  const id = (data as { experimentId?: unknown } | null)?.experimentId;
  return typeof id === 'string' ? id : null;
}

/** Machines from presence, depths and active jobs from BullMQ. A Redis failure is reported, not thrown. */
export async function loadStatus(redis: Redis, prefix: string, queues: readonly Queue[], now = new Date()): Promise<StatusView> {
  const view: StatusView = { generatedAt: now.toISOString(), redis: 'ok', machines: [], queues: [], running: [] };
  try {
    view.machines = machinesFromPresence(await readPresence(redis, prefix));
    for (const queue of queues) {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized');
      view.queues.push({ name: queue.name, counts });
      for (const job of await queue.getJobs(['active'], 0, 20)) {
        const running: RunningJob = {
          queue: queue.name,
          jobId: job.id ?? '',
          name: job.name,
          experimentId: experimentIdOf(job.data),
          progress: job.progress,
          startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
          attemptsMade: job.attemptsMade,
        };
        view.running.push(running);
      }
    }
  } catch (error) {
    view.redis = (error as Error).message;
  }
  return view;
}
