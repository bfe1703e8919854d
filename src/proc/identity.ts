import { readFileSync } from 'node:fs';
import { execa } from 'execa';

/**
 * A process named so that a reused pid does not pass for it: the pid plus when that process started. A pid
 * alone lies after a reboot or a kill -9 (the number comes back as some other process); the pair does not.
 */
export interface ProcessStamp {
  pid: number;
  /** Opaque: on Linux `<boot id>:<start ticks since boot>`, on macOS `ps -o lstart=` (to the second). */
  start: string;
}

/** When `pid` started, or null when no such (non-zombie) process exists. */
export async function processStartTime(pid: number): Promise<string | null> {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (process.platform === 'linux') return linuxStartTime(pid);
  // LC_ALL=C keeps lstart's format fixed whatever the user's locale.
  const ps = await execa('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { reject: false, env: { LC_ALL: 'C' }, timeout: 10_000 });
  const line = ps.exitCode === 0 ? ps.stdout.trim() : '';
  if (!line) return null;
  const [stat, ...start] = line.split(/\s+/);
  return stat?.startsWith('Z') ? null : start.join(' ');
}

let bootId: string | undefined;

function linuxStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields we want follow its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // Field 22, starttime: clock ticks after boot, hence the boot id to tell two boots apart.
  return `${bootId}:${fields[19]}`;
}

export async function stampOf(pid: number): Promise<ProcessStamp | null> {
  const start = await processStartTime(pid);
  return start === null ? null : { pid, start };
}

/** This process's stamp, computed once. */
let own: Promise<ProcessStamp> | undefined;
export function ownStamp(): Promise<ProcessStamp> {
  own ??= stampOf(process.pid).then((stamp) => stamp ?? { pid: process.pid, start: 'unknown' });
  return own;
}

/** True while the very process the stamp names is running (not merely some process with its pid). */
export async function isRunning(stamp: ProcessStamp): Promise<boolean> {
  return (await processStartTime(stamp.pid)) === stamp.start;
}
