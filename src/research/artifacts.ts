import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDirectory, writeFileAtomic } from '../fs/atomic.js';
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

/** Copies a folder to `target` through a temporary sibling; an existing `target` is left as it is. */
function copyDirInto(source: string, target: string): void {
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  cpSync(source, temp, { recursive: true, dereference: true });
  renameSync(temp, target);
  fsyncDirectory(dirname(target));
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
  if (execution.evalRunDir && existsSync(execution.evalRunDir)) copyDirInto(execution.evalRunDir, join(logDir, 'eval'));
  let adapterDir: string | null = null;
  if (execution.adapterPath && existsSync(execution.adapterPath)) {
    adapterDir = join(paths.adaptersExperimental, id);
    rmStaleTemps(paths.adaptersExperimental);
    copyDirInto(execution.adapterPath, adapterDir);
  }
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
  cpSync(adapterDir, incoming, { recursive: true, dereference: true });
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
