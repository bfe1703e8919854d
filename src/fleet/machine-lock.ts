import { randomUUID } from 'node:crypto';
import { link, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { sleep } from '../abortable.js';
import type { Logger } from '../log.js';
import { isRunning, ownStamp } from '../proc/identity.js';

/**
 * A lock file shared by the processes of one machine, owned by a process stamp (pid plus start time), so a pid
 * that a reboot or a kill -9 handed to another process does not keep it. Node has no flock(2) without a native
 * addon, so the kernel cannot drop the lock when its owner dies; instead a lock whose owner is not running is
 * stale and taken over, atomically:
 *
 * - free: `link(tmp, lock)` creates it complete or fails with EEXIST (no reader ever sees half a file);
 * - stale: the taker first wins a claim file named after the stale generation (`<lock>.claim-<nonce>-<k>`,
 *   again by `link`, so exactly one process wins claim k), checks the lock still is that generation, then
 *   `rename`s its own file over it: the lock never disappears, so nobody can slip in through the free path.
 *   A claimer that died mid-takeover is skipped by moving on to claim k+1; a live claimer is waited for.
 */
const ownerSchema = z.object({
  pid: z.number().int().positive(),
  start: z.string(),
  label: z.string(),
  since: z.string(),
  nonce: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
});
export type LockOwner = z.infer<typeof ownerSchema>;

export interface MachineLockOptions {
  file: string;
  log: Logger;
  /** How often to look at a lock held by another live process. @defaultValue 1_000 */
  pollMs?: number;
  /** While waiting, say so again this often. @defaultValue 60_000 */
  waitLogEveryMs?: number;
}

interface Observed {
  /** Null when the file is not a lock this version wrote (unreadable, another format): it is stale. */
  owner: LockOwner | null;
  /** What names this generation of the lock: its nonce, or its inode when it has none. */
  generation: string;
}

export class MachineLock {
  private mine: LockOwner | null = null;

  constructor(private readonly options: MachineLockOptions) {}

  get file(): string {
    return this.options.file;
  }

  /** Waits until this process holds the lock; logs who holds it while waiting. */
  async acquire(label: string, signal?: AbortSignal): Promise<void> {
    const { file, log } = this.options;
    const me: LockOwner = { ...(await ownStamp()), label, since: new Date().toISOString(), nonce: randomUUID() };
    const tmp = `${file}.${me.nonce}.tmp`;
    await writeFile(tmp, JSON.stringify(me));
    let lastLog = 0;
    try {
      for (;;) {
        signal?.throwIfAborted();
        try {
          await link(tmp, file);
          this.mine = me;
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const current = await this.observe();
        if (current === null) continue;
        if (current.owner && (await this.isLive(current.owner))) {
          if (Date.now() - lastLog >= (this.options.waitLogEveryMs ?? 60_000)) {
            lastLog = Date.now();
            const { pid, label: holding, since } = current.owner;
            log.warn({ lockFile: file, owner: { pid, label: holding, since }, want: label }, 'waiting for the GPU lock held by another live process');
          }
          await sleep(this.options.pollMs ?? 1_000, signal);
          continue;
        }
        if (await this.takeOver(current, tmp, me)) {
          log.warn({ lockFile: file, previous: current.owner ?? current.generation }, 'took over a GPU lock whose owner is no longer running');
          this.mine = me;
          return;
        }
        // Someone live is taking it over right now: look again shortly.
        await sleep(50, signal);
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Removes the lock if this process still holds it. */
  async release(): Promise<void> {
    const mine = this.mine;
    this.mine = null;
    if (!mine) return;
    const current = await this.observe();
    if (current?.owner?.nonce === mine.nonce) await rm(this.options.file, { force: true });
  }

  /** The lock's owner when that process is running, else null (no lock, or a stale one). */
  async liveOwner(): Promise<LockOwner | null> {
    const current = await this.observe();
    return current?.owner && (await this.isLive(current.owner)) ? current.owner : null;
  }

  private async isLive(owner: LockOwner): Promise<boolean> {
    const me = await ownStamp();
    // Our own stamp with another nonce is a lock this process failed to remove: the in-process queue already
    // guarantees we are not using the GPU twice.
    if (owner.pid === me.pid && owner.start === me.start) return owner.nonce === this.mine?.nonce;
    return isRunning(owner);
  }

  private async observe(): Promise<Observed | null> {
    let text: string;
    let ino: number;
    try {
      [text, ino] = await Promise.all([readFile(this.options.file, 'utf8'), stat(this.options.file).then((s) => s.ino)]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = ownerSchema.safeParse(safeJson(text));
    return parsed.success ? { owner: parsed.data, generation: parsed.data.nonce } : { owner: null, generation: `inode${ino}` };
  }

  private async takeOver(stale: Observed, tmp: string, me: LockOwner): Promise<boolean> {
    const { file } = this.options;
    for (let k = 1; ; k += 1) {
      const claim = `${file}.claim-${stale.generation}-${k}`;
      try {
        await link(tmp, claim);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = ownerSchema.safeParse(safeJson(await readFile(claim, 'utf8').catch(() => '')));
        if (holder.success && holder.data.nonce !== me.nonce && (await isRunning(holder.data))) return false;
        continue;
      }
      const now = await this.observe();
      if (now === null || now.generation !== stale.generation) {
        await rm(claim, { force: true });
        return false;
      }
      await rename(tmp, file);
      await this.removeClaims(stale.generation);
      return true;
    }
  }

  private async removeClaims(generation: string): Promise<void> {
    const dir = dirname(this.options.file);
    const prefix = `${basename(this.options.file)}.claim-${generation}-`;
    for (const name of await readdir(dir)) {
      if (name.startsWith(prefix)) await rm(join(dir, name), { force: true });
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
