import { mkdirSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Logger } from '../log.js';
import { isRunning, ownStamp, stampOf, type ProcessStamp } from './identity.js';

/**
 * The heavy children a worker starts (mlx_lm.server with a model in memory, train.py), written down while they
 * run, so that the next start after a kill -9 can stop what the dead worker left: nothing else would (a child
 * re-parented to init keeps its port and its model). Each record names the child and its parent by pid plus
 * start time, so a pid that now belongs to some other process is never signalled.
 */
const recordSchema = z.object({
  kind: z.string(),
  child: z.object({ pid: z.number().int().positive(), start: z.string() }),
  owner: z.object({ pid: z.number().int().positive(), start: z.string() }),
  /** The child leads its own process group (spawned detached): signal the group, not just the pid. */
  group: z.boolean(),
  since: z.string(),
});
type ChildRecord = z.infer<typeof recordSchema>;

/** Where a machine's workers write their children down: one folder per state folder. */
export function childRegistryDir(stateDir: string): string {
  return join(stateDir, 'children');
}

export interface Reaped {
  kind: string;
  pid: number;
  /** The signal that ended it. */
  signal: 'SIGTERM' | 'SIGKILL';
}

export class ChildRegistry {
  constructor(
    readonly dir: string,
    private readonly log?: Logger,
  ) {}

  /** Writes the child down; the returned function forgets it once it has exited. */
  async record(kind: string, pid: number, options: { group: boolean }): Promise<() => Promise<void>> {
    const child = await stampOf(pid);
    const file = join(this.dir, `${pid}.json`);
    if (!child) return async () => undefined;
    const entry: ChildRecord = { kind, child, owner: await ownStamp(), group: options.group, since: new Date().toISOString() };
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(file, `${JSON.stringify(entry)}\n`);
    return () => rm(file, { force: true });
  }

  /**
   * Stops every recorded child whose worker is gone (or is this process: it has only just started), SIGTERM
   * then SIGKILL after `graceMs`, and forgets the records. Children of another live worker are left alone.
   */
  async reapOrphans(graceMs = 10_000): Promise<Reaped[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const me = await ownStamp();
    const reaped: Reaped[] = [];
    for (const name of names) {
      const file = join(this.dir, name);
      const parsed = recordSchema.safeParse(safeJson(await readFile(file, 'utf8').catch(() => '')));
      if (!parsed.success) {
        this.log?.warn({ file }, 'ignoring an unreadable child record');
        await rm(file, { force: true });
        continue;
      }
      const entry = parsed.data;
      const ownerIsMe = entry.owner.pid === me.pid && entry.owner.start === me.start;
      if (!ownerIsMe && (await isRunning(entry.owner))) continue;
      if (await isRunning(entry.child)) {
        const signal = await stop(entry.child, entry.group, graceMs);
        this.log?.warn(
          { kind: entry.kind, pid: entry.child.pid, since: entry.since, deadWorker: entry.owner.pid, signal },
          'stopped a process left running by a worker that is gone',
        );
        reaped.push({ kind: entry.kind, pid: entry.child.pid, signal });
      }
      await rm(file, { force: true });
    }
    return reaped;
  }
}

async function stop(child: ProcessStamp, group: boolean, graceMs: number): Promise<'SIGTERM' | 'SIGKILL'> {
  signal(child.pid, group, 'SIGTERM');
  if (await gone(child, graceMs)) return 'SIGTERM';
  // Checked again just before: the pid must still be that very process.
  if (await isRunning(child)) signal(child.pid, group, 'SIGKILL');
  // A process in uninterruptible I/O (a model being read from disk) dies only when that read returns; the
  // next model must not load before this one has left memory.
  if (!(await gone(child, Math.max(graceMs, 10_000)))) {
    throw new Error(`process ${child.pid} is still running 10 s after SIGKILL; stop it by hand (kill -9 ${child.pid})`);
  }
  return 'SIGKILL';
}

async function gone(child: ProcessStamp, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (!(await isRunning(child))) return true;
  }
  return false;
}

function signal(pid: number, group: boolean, name: NodeJS.Signals): void {
  try {
    process.kill(group ? -pid : pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
