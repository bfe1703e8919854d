import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { readPresence } from '../fleet/presence.js';
import { buildTimeline, NIGHT_LOOKBACK_MS, type NightTimeline } from '../fleet/timeline.js';
import { readJobSpans } from '../../queues/job-spans.js';

export interface TimelineView {
  /** Null when Redis could not be read; `error` says why. */
  timeline: NightTimeline | null;
  skipped: string[];
  error: string | null;
}

/** The night's timeline from the job records, with a lane for every machine that is online now. */
export async function loadTimeline(redis: Redis, prefix: string, queues: readonly Queue[], now = new Date()): Promise<TimelineView> {
  try {
    const at = now.getTime();
    const [presence, read] = await Promise.all([readPresence(redis, prefix), readJobSpans(redis, queues, at - NIGHT_LOOKBACK_MS)]);
    const timeline = buildTimeline(read.spans, at, { machines: presence.live.map((h) => h.machine) });
    return { timeline, skipped: read.skipped, error: null };
  } catch (error) {
    return { timeline: null, skipped: [], error: (error as Error).message };
  }
}
