import { z } from 'zod';
import { argv, clockTime, flag, httpUrl, integer } from '../fields.js';

/** The model server that serves daytime traffic: stopped before GPU work, always restored afterwards. */
export const idleServerSection = z
  .strictObject({
    enabled: flag().default(false),
    /** e.g. ["launchctl", "bootout", "gui/501/com.sanctum.idle-mlx"] */
    stop: argv().optional(),
    /** e.g. ["launchctl", "bootstrap", "gui/501", "/Users/me/Library/LaunchAgents/com.sanctum.idle-mlx.plist"] */
    start: argv().optional(),
    /** Answers 2xx when the server is up. */
    healthUrl: httpUrl().optional(),
    healthTimeoutMs: integer(100, 600_000).default(60_000),
    /** After the last GPU job, wait this long for another before restarting it (train is followed by eval). */
    restoreDelayMs: integer(0, 3_600_000).default(60_000),
    /** Whatever is running, the idle server is back up by this local time. */
    morningDeadline: clockTime().default('07:00'),
    /**
     * GPU jobs are taken only from this local time until morningDeadline; in between the idle server keeps the
     * GPU and jobs wait. Equal to morningDeadline: no daytime pause.
     */
    nightStart: clockTime().default('22:00'),
    /** While no GPU job runs, check the idle server this often and start it again if it stopped answering. */
    watchIntervalMs: integer(1_000, 3_600_000).default(60_000),
  })
  .prefault({})
  .superRefine((value, ctx) => {
    if (!value.enabled) return;
    for (const key of ['stop', 'start', 'healthUrl'] as const) {
      if (value[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'required when idleServer.enabled is true' });
      }
    }
  });
