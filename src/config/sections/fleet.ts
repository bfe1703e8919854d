import { hostname } from 'node:os';
import { z } from 'zod';
import { integer, text } from '../fields.js';

const queueList = z.array(text('a queue name'), { error: 'expected a list of queue names' });

/** What a machine role consumes. A third machine joins by adding a role here, with no code change. */
const roleSchema = z.strictObject({
  /** Queues whose jobs this role processes (GPU work runs one job at a time per machine). */
  consumes: queueList,
  /** Queues this role watches for stalled jobs without consuming them (the laptop may be the only consumer). */
  stalledCheck: queueList.default([]),
});

export const fleetSection = z
  .strictObject({
    /** This machine's name in heartbeats and `status`. */
    machine: text().default(hostname().split('.')[0] ?? 'machine'),
    roles: z
      .record(text('a role name'), roleSchema, { error: 'expected a map of role name to { consumes, stalledCheck }' })
      .default({
        mini: { consumes: ['train-proxy', 'eval', 'route'], stalledCheck: ['train-full'] },
        mbp: { consumes: ['train-full'], stalledCheck: [] },
        all: { consumes: ['train-proxy', 'train-full', 'eval', 'route'], stalledCheck: [] },
      }),
    heartbeat: z
      .strictObject({
        intervalMs: integer(100, 600_000).default(10_000),
        ttlMs: integer(300, 3_600_000).default(30_000),
      })
      .prefault({}),
    /** A full-mode job not started within this time is withdrawn and run in proxy mode instead. */
    pickupDeadlineMs: integer(1_000, 24 * 3_600_000).default(10 * 60_000),
    /** Lock settings for 30-minute jobs on a laptop that sleeps; see the README's "Locks" section. */
    lock: z
      .strictObject({
        durationMs: integer(1_000, 3_600_000).default(120_000),
        stalledIntervalMs: integer(500, 3_600_000).default(30_000),
        maxStalledCount: integer(0, 100).default(3),
        /** A job started this many times (sleeps, crashes, hand-backs) fails for good instead of looping. */
        maxStartedAttempts: integer(1, 1_000).default(8),
      })
      .prefault({}),
    /** Attempts per training or eval job; a crash or a lost machine costs one. */
    attempts: integer(1, 100).default(3),
    /** On SIGTERM: time for the trainer to exit after SIGTERM before SIGKILL. */
    killAfterMs: integer(100, 600_000).default(10_000),
    /** On SIGTERM: the worker exits within this time, whatever is still running. */
    shutdownTimeoutMs: integer(500, 600_000).default(30_000),
    /**
     * Where datasets and adapters live. Without `url`, this machine holds the store (in `<state>/artifacts`) and
     * nothing is copied; with it (e.g. "http://mini.local:8377/artifacts"), downloads are cached by hash in
     * `<state>/artifact-cache`. The bearer token is AUTORESEARCH_ARTIFACT_TOKEN.
     */
    artifacts: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as "http://mini.local:8377/artifacts"' }).optional(),
        requestTimeoutMs: integer(1_000, 3_600_000).default(600_000),
        /** The download cache's size (`<state>/artifact-cache`); least recently used bundles go first. */
        cacheMaxBytes: integer(2 ** 20, 2 ** 50).default(32 * 2 ** 30),
      })
      .prefault({}),
    /**
     * What is deleted, and when: artifact bundles and blobs, `<state>/runs/` and `<state>/evals/` folders older
     * than `days`, checked every `intervalMs`. A champion's adapter and an in-flight experiment's files are never
     * deleted; decided experiments keep their copies in `logs/` and `adapters-experimental/`.
     */
    retention: z
      .strictObject({
        days: integer(1, 3_650).default(14),
        intervalMs: integer(60_000, 7 * 86_400_000).default(3_600_000),
      })
      .prefault({}),
  })
  .prefault({});
