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
  /** With no GPU job running, check the idle server this often and restart it if it is down. 0: never. */
  watchIntervalMs?: number;
}

/**
 * The order of jobs waiting for the GPU: evaluations before training, so a finished experiment's result is not
 * held behind the next training job, and a full-mode result (the laptop's half hour) before a proxy-mode one;
 * within one priority, first come first served. Lower goes first.
 */
export const GPU_PRIORITY = { fullEval: 0, eval: 1, train: 2 } as const;

interface Waiter {
  priority: number;
  seq: number;
  grant: () => void;
}

export class GpuLease {
  /** A job holds the GPU or is being handed it. */
  private active = false;
  private readonly queue: Waiter[] = [];
  private seq = 0;
  private drained: Array<() => void> = [];
  private waiting = 0;
  private holderLabel: string | null = null;
  private held = false;
  private serverDown = false;
  private restoreTimer: NodeJS.Timeout | null = null;
  private restoring: Promise<void> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
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

  /** The label of the job holding the GPU now (`train-proxy:<jobId>`, `eval:<jobId>`), or null. */
  get holder(): string | null {
    return this.held ? this.holderLabel : null;
  }

  /**
   * Runs `work` holding the machine's GPU, with the idle server stopped. Waiting jobs get the GPU by `priority`
   * (GPU_PRIORITY), then in arrival order. The idle server stays down from one job to the next while any waits.
   */
  async run<T>(label: string, work: () => Promise<T>, signal?: AbortSignal, priority: number = GPU_PRIORITY.train): Promise<T> {
    this.waiting += 1;
    try {
      await this.turn(priority);
    } finally {
      this.waiting -= 1;
    }
    try {
      signal?.throwIfAborted();
      this.cancelRestore();
      // A restore that failed has been logged; the job needs the server down, not up.
      await this.restoring?.catch(() => undefined);
      await this.lock.acquire(label, signal);
      this.held = true;
      this.holderLabel = label;
      try {
        if (!this.serverDown) {
          await this.options.idleServer.stop(label);
          this.serverDown = true;
        }
        return await work();
      } finally {
        this.held = false;
        this.holderLabel = null;
        await this.lock.release();
        if (this.waiting === 0) this.scheduleRestore();
      }
    } finally {
      this.handOver();
    }
  }

  private turn(priority: number): Promise<void> {
    if (!this.active) {
      this.active = true;
      return Promise.resolve();
    }
    return new Promise((grant) => {
      this.queue.push({ priority, seq: this.seq++, grant });
      this.queue.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    });
  }

  /** The next waiter gets the GPU directly (no gap in which the idle server could be restored). */
  private handOver(): void {
    const next = this.queue.shift();
    if (next) {
      next.grant();
      return;
    }
    this.active = false;
    for (const resolve of this.drained.splice(0)) resolve();
  }

  /**
   * Restores the idle server as soon as no GPU work runs (shutdown, morning deadline): a job being cancelled
   * still holds the lease until its process is gone, and both models must never be in memory at once.
   */
  async restoreNow(reason: string): Promise<void> {
    while (this.active) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.cancelRestore();
    if (this.held || this.waiting > 0) return;
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

  /**
   * Keeps the idle server up while the GPU is not leased: every `watchIntervalMs` with no job running or waiting
   * (and no other live process on this machine holding the GPU lock), a server that does not answer, or one a
   * failed restore left down, is started again.
   */
  startWatchdog(): void {
    const every = this.options.watchIntervalMs ?? 0;
    if (!this.options.idleServer.enabled || every <= 0 || this.watchdog) return;
    this.watchdog = setInterval(() => {
      this.watch().catch((error: Error) => this.options.log.error({ err: error }, 'watchdog could not restore the idle model server'));
    }, every);
    this.watchdog.unref();
  }

  close(): void {
    this.cancelRestore();
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private async watch(): Promise<void> {
    const idle = () => !this.held && this.waiting === 0 && this.restoring === null && this.restoreTimer === null;
    if (!idle() || (await this.lock.liveOwner()) !== null) return;
    if (!this.serverDown) {
      if (await this.options.idleServer.healthy()) return;
      if (!idle()) return;
      this.options.log.warn('the idle model server stopped answering while the GPU is free: starting it again');
      this.serverDown = true;
    }
    await this.restoreNow('watchdog: the GPU is free and the idle server was down');
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
