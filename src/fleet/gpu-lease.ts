import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { IdleServer } from './idle-server.js';

/**
 * One GPU job at a time per machine, and the idle model server down while any runs. Inside a process a FIFO
 * queue serialises the workers of different queues; across processes on the same machine (two roles started
 * by mistake), an exclusive lock file in the state folder does, taken over when its owner's pid is gone.
 */
export interface GpuLeaseOptions {
  stateDir: string;
  idleServer: IdleServer;
  /** Wait this long after the last job before restarting the idle server. */
  restoreDelayMs: number;
  log: Logger;
  /** How often to look at a lock file held by another live process. */
  pollMs?: number;
}

export class GpuLease {
  private holder: Promise<void> = Promise.resolve();
  private waiting = 0;
  private held = false;
  private serverDown = false;
  private restoreTimer: NodeJS.Timeout | null = null;
  private restoring: Promise<void> | null = null;
  readonly lockFile: string;

  constructor(private readonly options: GpuLeaseOptions) {
    this.lockFile = join(options.stateDir, 'gpu.lock');
  }

  get busy(): boolean {
    return this.held;
  }

  /** Runs `work` holding the machine's GPU, with the idle server stopped. */
  async run<T>(label: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.waiting += 1;
    const previous = this.holder;
    let release!: () => void;
    this.holder = new Promise((r) => (release = r));
    try {
      await previous;
    } finally {
      this.waiting -= 1;
    }
    try {
      signal?.throwIfAborted();
      this.cancelRestore();
      await this.restoring;
      await this.lockMachine(label, signal);
      this.held = true;
      try {
        if (!this.serverDown) {
          await this.options.idleServer.stop(label);
          this.serverDown = true;
        }
        return await work();
      } finally {
        this.held = false;
        await rm(this.lockFile, { force: true });
        if (this.waiting === 0) this.scheduleRestore();
      }
    } finally {
      release();
    }
  }

  /** Restores the idle server now (shutdown, morning deadline, job failure handling). */
  async restoreNow(reason: string): Promise<void> {
    this.cancelRestore();
    if (this.restoring) return this.restoring;
    if (!this.serverDown && !this.options.idleServer.markedStopped) return;
    this.restoring = this.options.idleServer
      .start(reason)
      .then(() => {
        this.serverDown = false;
      })
      .finally(() => {
        this.restoring = null;
      });
    return this.restoring;
  }

  /** At start-up: a marker left by a crashed process means the server is down; bring it back unless a live process holds the GPU. */
  async recoverAfterCrash(): Promise<void> {
    if (!this.options.idleServer.markedStopped) return;
    const owner = await this.lockOwner();
    if (owner !== null && owner !== process.pid && alive(owner)) return;
    await rm(this.lockFile, { force: true });
    this.serverDown = true;
    await this.restoreNow('restoring after an unclean stop of the previous worker');
  }

  close(): void {
    this.cancelRestore();
  }

  private scheduleRestore(): void {
    if (!this.serverDown) return;
    this.restoreTimer = setTimeout(() => {
      this.restoreTimer = null;
      this.restoreNow('no GPU work left').catch((error: Error) =>
        this.options.log.error({ err: error }, 'could not restore the idle model server'),
      );
    }, this.options.restoreDelayMs);
  }

  private cancelRestore(): void {
    if (this.restoreTimer) clearTimeout(this.restoreTimer);
    this.restoreTimer = null;
  }

  private async lockMachine(label: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      // link() publishes a complete file atomically and fails if the lock exists: no reader sees it half-written.
      const tmp = `${this.lockFile}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ pid: process.pid, label, since: new Date().toISOString() }));
      try {
        await link(tmp, this.lockFile);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await rm(tmp, { force: true });
      }
      const owner = await this.lockOwner();
      if (owner === null || owner === process.pid || !alive(owner)) {
        this.options.log.warn({ owner, lockFile: this.lockFile }, 'taking over a GPU lock left by a process that is gone');
        await rm(this.lockFile, { force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 1_000));
      signal?.throwIfAborted();
    }
  }

  private async lockOwner(): Promise<number | null> {
    try {
      const parsed = JSON.parse(await readFile(this.lockFile, 'utf8')) as { pid?: unknown };
      return typeof parsed.pid === 'number' ? parsed.pid : null;
    } catch {
      return null;
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
