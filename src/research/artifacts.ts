import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDirectory, writeFileAtomic } from '../fs/atomic.js';
import { copyTreeNoFollow, type CopyTreeReport } from '../fs/copy-tree.js';
import type { ExperimentExecution } from './executor.js';
import type { ResultRow } from './results-format.js';

/**
 * An experiment's files on the planner's machine: its adapter in `adapters-experimental/<id>/`, its eval run
 * and execution record in `logs/<id>/`. On keep, the adapter is promoted to the stable path the idle model
 * server loads. Every copy lands under a temporary name and is renamed into place, so a crash never leaves a
 * half-copied adapter where something loads it.
 */
export interface ArtifactPaths {
  adaptersExperimental: string;
  logs: string;
  stableAdapter: string;
}

/**
 * What one archived folder may hold: an eval run is a few MB of records, an adapter a few hundred MB (a 27B
 * model's LoRA at rank 64 is about 0.5 GB). Anything beyond is left out and listed, never a reason to throw.
 */
export const ARCHIVE_LIMITS = { maxBytes: 4 * 2 ** 30, maxDepth: 4 };

/**
 * Copies a folder to `target` through a temporary sibling, never following a link (see copyTreeNoFollow); an
 * existing `target` is left as it is. Returns what was left out, or null when nothing was copied this time.
 */
function copyDirInto(source: string, target: string): CopyTreeReport | null {
  if (existsSync(target)) return null;
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const report = copyTreeNoFollow(source, temp, ARCHIVE_LIMITS);
    renameSync(temp, target);
    fsyncDirectory(dirname(target));
    return report;
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

/** A real folder (not a link to one): the only kind of eval run or adapter folder that is archived. */
function isRealFolder(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

export interface ArchivedArtifacts {
  adapterDir: string | null;
  logDir: string;
}

/** Idempotent: archiving an experiment twice (a restarted planner) copies nothing the second time. */
export function archiveExperiment(paths: ArtifactPaths, execution: ExperimentExecution): ArchivedArtifacts {
  const id = execution.experimentId;
  const logDir = join(paths.logs, id);
  rmStaleTemps(paths.logs);
  writeFileAtomic(join(logDir, 'execution.json'), `${JSON.stringify(execution, null, 2)}\n`);
  if (execution.training) writeFileAtomic(join(logDir, 'training.json'), `${JSON.stringify(execution.training, null, 2)}\n`);
  const skipped: Array<{ folder: string; path: string; reason: string }> = [];
  const note = (folder: string, report: CopyTreeReport | null) => report?.skipped.forEach((s) => skipped.push({ folder, ...s }));
  if (execution.evalRunDir && isRealFolder(execution.evalRunDir)) note('eval', copyDirInto(execution.evalRunDir, join(logDir, 'eval')));
  let adapterDir: string | null = null;
  if (execution.adapterPath && isRealFolder(execution.adapterPath)) {
    adapterDir = join(paths.adaptersExperimental, id);
    rmStaleTemps(paths.adaptersExperimental);
    note('adapter', copyDirInto(execution.adapterPath, adapterDir));
  }
  if (skipped.length > 0) writeFileAtomic(join(logDir, 'archive-skipped.json'), `${JSON.stringify(skipped, null, 2)}\n`);
  return { adapterDir, logDir };
}

/** Where an archived experiment's eval summary sits: the champion's scores are read back from here. */
export function archivedSummaryPath(paths: Pick<ArtifactPaths, 'logs'>, experimentId: string): string {
  return join(paths.logs, experimentId, 'eval', 'summary.json');
}

/**
 * Makes `adapterDir` the stable adapter: copy beside the stable path, then swap by two renames (the old
 * champion moves aside, the new one moves in), then delete the old one. The server is stopped during GPU work
 * and loads at restart, so the instant between the renames is never observed; a half copy never is either.
 */
export function promoteAdapter(paths: Pick<ArtifactPaths, 'stableAdapter'>, adapterDir: string, experimentId: string): void {
  const stable = paths.stableAdapter;
  const parent = dirname(stable);
  const tag = `${experimentId}.${randomBytes(4).toString('hex')}`;
  const incoming = join(parent, `.${basename(stable)}.incoming-${tag}`);
  const outgoing = join(parent, `.${basename(stable)}.outgoing-${tag}`);
  mkdirSync(parent, { recursive: true });
  copyTreeNoFollow(adapterDir, incoming, ARCHIVE_LIMITS);
  writeFileAtomic(join(incoming, 'PROMOTED.json'), `${JSON.stringify({ experimentId, promotedAt: new Date().toISOString() })}\n`);
  const hadOld = existsSync(stable);
  if (hadOld) renameSync(stable, outgoing);
  renameSync(incoming, stable);
  fsyncDirectory(parent);
  if (hadOld) rmSync(outgoing, { recursive: true, force: true });
}

/**
 * Keeps the newest `keepDiscarded` discarded adapters and deletes older ones. Adapters of base and keep rows
 * (every champion, past and present) are never deleted, nor folders without a decided row (still in flight).
 */
export function pruneAdapters(paths: Pick<ArtifactPaths, 'adaptersExperimental'>, rows: readonly ResultRow[], keepDiscarded: number): string[] {
  if (!existsSync(paths.adaptersExperimental)) return [];
  const present = new Set(readdirSync(paths.adaptersExperimental).filter((n) => !n.startsWith('.')));
  const discarded = rows.filter((r) => r.result !== 'base' && r.result !== 'keep' && present.has(r.experimentId));
  const protectedIds = new Set(rows.filter((r) => r.result === 'base' || r.result === 'keep').map((r) => r.experimentId));
  const doomed = discarded
    .slice(0, Math.max(0, discarded.length - keepDiscarded))
    .map((r) => r.experimentId)
    .filter((id) => !protectedIds.has(id));
  for (const id of doomed) rmSync(join(paths.adaptersExperimental, id), { recursive: true, force: true });
  return doomed;
}

/** Leftovers of a copy interrupted by a crash. */
function rmStaleTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') && name.endsWith('.tmp')) rmSync(join(dir, name), { recursive: true, force: true });
  }
}
