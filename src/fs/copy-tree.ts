import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { writeAll } from './atomic.js';

export interface CopyTreeLimits {
  /** Total bytes copied; a file that would exceed it is skipped. */
  maxBytes: number;
  /** Folder depth below the source. */
  maxDepth: number;
}

export interface CopyTreeReport {
  bytes: number;
  files: number;
  /** Relative paths left out, with why: a link, a device, a file over the size cap, a folder too deep. */
  skipped: Array<{ path: string; reason: string }>;
}

export class NotAFolderError extends Error {
  override readonly name = 'NotAFolderError';
}

/**
 * Copies a folder of regular files and sub-folders, never following a link: a symbolic link (to ~/.ssh, or a
 * loop back to its own parent) is skipped and reported, not copied or entered, and so are devices, sockets and
 * pipes. The source itself must be a real folder (lstat), and the copy stops growing at `maxBytes`. Content
 * that breaks a rule is skipped, never a reason to throw, so an archive that runs again on restart finishes.
 */
export function copyTreeNoFollow(source: string, target: string, limits: CopyTreeLimits): CopyTreeReport {
  const info = lstatSync(source, { throwIfNoEntry: false });
  if (!info) throw new NotAFolderError(`${source} does not exist`);
  if (!info.isDirectory()) throw new NotAFolderError(`${source} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; only a real folder is copied`);
  const report: CopyTreeReport = { bytes: 0, files: 0, skipped: [] };
  const walk = (from: string, to: string, rel: string, depth: number) => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const src = join(from, entry.name);
      // lstat again rather than trusting the dirent: the entry may have been swapped for a link meanwhile.
      const stat = lstatSync(src, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) {
        if (depth >= limits.maxDepth) report.skipped.push({ path, reason: `deeper than ${limits.maxDepth} folders` });
        else walk(src, join(to, entry.name), path, depth + 1);
      } else if (stat.isFile()) {
        if (report.bytes + stat.size > limits.maxBytes) {
          report.skipped.push({ path, reason: `${stat.size} bytes would exceed the copy's cap of ${limits.maxBytes}` });
          continue;
        }
        copyRegularFile(src, join(to, entry.name), stat.size);
        report.bytes += stat.size;
        report.files += 1;
      } else {
        report.skipped.push({ path, reason: stat.isSymbolicLink() ? 'a symbolic link (never followed)' : 'not a regular file' });
      }
    }
  };
  walk(source, target, '', 0);
  return report;
}

/**
 * Copies through descriptors: the source is opened with O_NOFOLLOW and checked to be a regular file on that
 * descriptor, so a file swapped for a link after the lstat is refused (ELOOP), not followed. A file that grew
 * since its lstat is copied up to the size the cap was checked against.
 */
function copyRegularFile(source: string, target: string, size: number): void {
  const from = openSync(source, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!fstatSync(from).isFile()) throw new Error(`${source} is not a regular file`);
    const to = openSync(target, 'wx');
    try {
      const buffer = Buffer.allocUnsafe(1 << 20);
      for (let left = size; left > 0; ) {
        const n = readSync(from, buffer, 0, Math.min(buffer.length, left), null);
        if (n === 0) break;
        writeAll(to, buffer.subarray(0, n));
        left -= n;
      }
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}
