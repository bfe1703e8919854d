import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { IdleServer } from './idle-server.js';
import { MachineLock } from './machine-lock.js';

/**
 * One GPU job at a time per machine, and the idle model server down while any runs. Inside a process a FIFO
 * queue serialises the workers of different queues; across processes on the same machine (two roles started
 * by mistake), `<state>/gpu.lock` does, owned by a pid plus its start time and taken over atomically once that
 * process is gone (src/fleet/machine-lock.ts).
 */
export interface GpuLeaseOptions {
  stateDir: string;
  idleServer: IdleServer;
  /** Wait this long after the last job before restarting the idle server. */
  restoreDelayMs: number;
  log: Logger;
  /** How often to look at a lock file held by another live process. */
  pollMs?: number;
  /** While waiting for another process's lock, log again this often. @defaultValue 60_000 */
  waitLogEveryMs?: number;
}

export class GpuLease {
  private holder: Promise<void> = Promise.resolve();
  private waiting = 0;
  private held = false;
  private serverDown = false;
  private restoreTimer: NodeJS.Timeout | null = null;
  private restoring: Promise<void> | null = null;
  private readonly lock: MachineLock;

  constructor(private readonly options: GpuLeaseOptions) {
    this.lock = new MachineLock({
      file: join(options.stateDir, 'gpu.lock'),
      log: options.log,
      pollMs: options.pollMs,
      waitLogEveryMs: options.waitLogEveryMs,
    });
  }

  get lockFile(): string {
    return this.lock.file;
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
      await this.lock.acquire(label, signal);
      this.held = true;
      try {
        if (!this.serverDown) {
          await this.options.idleServer.stop(label);
          this.serverDown = true;
        }
        return await work();
      } finally {
        this.held = false;
        await this.lock.release();
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
    const owner = await this.lock.liveOwner();
    if (owner !== null) {
      this.options.log.info({ owner: { pid: owner.pid, label: owner.label } }, 'the idle server is down for another live process on this machine: leaving it');
      return;
    }
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
}
