import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Config } from '../config/load.js';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../fs/atomic.js';

/** The stop and start commands get the reason in this variable (for their logs; launchctl ignores it). */
export const REASON_ENV = 'AUTORESEARCH_IDLE_REASON';

/**
 * The daytime model server: stopped before GPU work and always started again. Before stopping it, a marker
 * file is written to the state folder, so if this process dies while it is down, the next worker start sees
 * the marker and restores it. While a worker runs, its watchdog (GpuLease.startWatchdog) starts the server
 * again whenever it stops answering while the GPU is free.
 */
export class IdleServer {
  readonly markerFile: string;

  constructor(
    private readonly settings: Config['idleServer'],
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.markerFile = join(stateDir, 'idle-server.stopped');
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** True when a previous run stopped the server and did not get to restore it. */
  get markedStopped(): boolean {
    return existsSync(this.markerFile);
  }

  async stop(reason: string): Promise<void> {
    if (!this.settings.enabled) return;
    writeFileAtomic(this.markerFile, `${JSON.stringify({ pid: process.pid, at: new Date().toISOString(), reason })}\n`);
    const t0 = Date.now();
    const result = await execa(this.settings.stop![0]!, this.settings.stop!.slice(1), { reject: false, timeout: 60_000, env: { [REASON_ENV]: reason } });
    if (result.failed) {
      // Stopping a server that is not running fails on launchctl; the GPU is free either way.
      this.log.warn({ exitCode: result.exitCode, stderr: result.stderr.slice(-500) }, 'idle server stop command failed');
    } else {
      this.log.info({ reason, ms: Date.now() - t0 }, 'idle model server stopped for GPU work');
    }
  }

  /** Starts the server unless it already answers, waits until it is healthy, then clears the marker. */
  async start(reason: string): Promise<void> {
    if (!this.settings.enabled) return;
    const t0 = Date.now();
    if (!(await this.healthy())) {
      const result = await execa(this.settings.start![0]!, this.settings.start!.slice(1), { reject: false, timeout: 60_000, env: { [REASON_ENV]: reason } });
      if (result.failed) {
        this.log.warn({ exitCode: result.exitCode, stderr: result.stderr.slice(-500) }, 'idle server start command failed');
      }
      const deadline = Date.now() + this.settings.healthTimeoutMs;
      while (!(await this.healthy())) {
        if (Date.now() > deadline) {
          throw new Error(
            `the idle model server did not answer ${this.settings.healthUrl} within ${this.settings.healthTimeoutMs} ms after ` +
              `${JSON.stringify(this.settings.start)}; check its logs, then run \`autoresearch worker\` again to retry`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await rm(this.markerFile, { force: true });
    // ms: from the start command to the first healthy answer, what a GPU job's end costs when it restores the server.
    this.log.info({ reason, ms: Date.now() - t0 }, 'idle model server is up');
  }

  async healthy(): Promise<boolean> {
    try {
      const response = await fetch(this.settings.healthUrl!, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }
}
