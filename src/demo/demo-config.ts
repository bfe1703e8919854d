import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { idleCommand, type IdleServerFiles } from './idle-model-server.js';
import { demoPath } from './workspace.js';

export interface DemoLayout {
  /** The demo's own folder under the project's state folder; everything the demo writes lives here. */
  root: string;
  /** The scratch clone the research loop commits to. */
  repo: string;
  /** The tiny model's folder, built once and shared by every process. */
  model: string;
  councilDir: string;
  redisUrl: string;
  serverPort: number;
  /** Wall-clock training budget per experiment. */
  budgetSeconds: number;
  redisPrefix: string;
  /** The Mini's daytime model server (src/demo/idle-model-server.ts): its folder, port and stable adapter. */
  idle: IdleServerFiles;
  /** After the last GPU job, how long the Mini's worker waits for another before restoring the idle server. */
  idleRestoreDelayMs: number;
}

/** A morning deadline a day away, so a demo started just before 07:00 is not cut short by it. */
export function morningADayAway(now: Date): string {
  const earlier = new Date(now.getTime() - 60_000);
  return `${String(earlier.getHours()).padStart(2, '0')}:${String(earlier.getMinutes()).padStart(2, '0')}`;
}

/**
 * The demo's night is now, whatever the clock says: the morning deadline a day away, and the same time as the
 * night's start, which turns the daytime pause of GPU jobs off (src/fleet/morning.ts).
 */
export function demoNight(now: Date): { morningDeadline: string; nightStart: string } {
  const clock = morningADayAway(now);
  return { morningDeadline: clock, nightStart: clock };
}

/**
 * Two machines on one host: the Mini (planner, server, proxy training, evaluation, the artifact store) and the
 * laptop (full training), each with its own config and state folder, so the laptop really fetches datasets
 * and uploads adapters over HTTP like a MacBook on the LAN would.
 */
export function writeDemoConfigs(layout: DemoLayout): { mini: string; mbp: string } {
  const common = (machine: string, state: string) => ({
    paths: {
      state,
      repo: layout.repo,
      memoryEvents: join(demoPath(layout.root, 'memory'), 'events'),
      stableAdapter: layout.idle.adapter,
    },
    // Only the Mini serves by day: an mlx_lm.server on the base model plus the stable adapter.
    ...(machine === 'mini'
      ? {
          idleServer: {
            enabled: true,
            start: idleCommand('start', layout.idle),
            stop: idleCommand('stop', layout.idle),
            healthUrl: `http://127.0.0.1:${layout.idle.port}/health`,
            healthTimeoutMs: 180_000,
            restoreDelayMs: layout.idleRestoreDelayMs,
            ...demoNight(new Date()),
          },
        }
      : {}),
    council: { dir: layout.councilDir },
    redis: { url: layout.redisUrl, embedded: false, prefix: layout.redisPrefix },
    models: {
      // On a Mac these are the 9B and 27B with the Qwen search space; here both modes use the tiny model and its
      // own table (python/search-spaces/tiny.json), each mode with its own champion.
      proxy: { model: layout.model, budgetSeconds: layout.budgetSeconds, graceSeconds: 120, searchSpace: 'tiny' },
      full: { model: layout.model, budgetSeconds: layout.budgetSeconds, graceSeconds: 120, searchSpace: 'tiny' },
      training: { valBatches: 4 },
    },
    fleet: {
      machine,
      heartbeat: { intervalMs: 1_000, ttlMs: 4_000 },
      pickupDeadlineMs: 60_000,
      lock: { durationMs: 15_000, stalledIntervalMs: 5_000, maxStalledCount: 3 },
      ...(machine === 'mbp' ? { artifacts: { url: `http://127.0.0.1:${layout.serverPort}/artifacts` } } : {}),
    },
    eval: { concurrency: 2, maxTokens: 48, serverStartTimeoutMs: 180_000, requestTimeoutMs: 120_000 },
    server: { port: layout.serverPort },
    planner: { seed: 7 },
    // The demo tells a serial night (the laptop leaves, the next experiment runs in proxy mode, it comes back), on
    // one branch; run.maxInFlight's default, several in flight, is what `bench night` and the concurrent drills run.
    run: { branch: 'autoresearch/demo', evalAllowanceSeconds: 600, maxInFlight: 1 },
  });
  const files = {
    mini: demoPath(layout.root, 'miniConfig'),
    mbp: demoPath(layout.root, 'mbpConfig'),
  };
  const header = '# Written by `autoresearch demo`; rewritten on every demo run.\n';
  writeFileSync(files.mini, header + stringify(common('mini', demoPath(layout.root, 'miniState'))));
  writeFileSync(files.mbp, header + stringify(common('mbp', demoPath(layout.root, 'mbpState'))));
  return files;
}
