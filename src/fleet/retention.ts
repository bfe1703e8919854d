import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';

/**
 * Disk retention for what the fleet leaves behind: artifact blobs and bundles, training run folders
 * (`<state>/runs/<jobId>/`), eval run folders (`<state>/evals/<runId>/`) and the laptop's artifact cache.
 * The rule everywhere: delete only what is older than the retention age and not protected; the callers protect
 * every champion's adapter and every in-flight experiment's files. Age is the later of mtime and ctime, so a
 * file linked into place a moment ago (ctime) counts as new even when its content is old (mtime).
 */
export interface Removed {
  path: string;
  bytes: number;
}

const ageOf = (info: { mtimeMs: number; ctimeMs: number }, now: number) => now - Math.max(info.mtimeMs, info.ctimeMs);

/** Folders directly under `dir` older than `maxAgeMs` whose name is not protected; links and files are left alone. */
export async function pruneFolders(
  dir: string,
  options: { maxAgeMs: number; now?: number; isProtected?: (name: string) => boolean },
): Promise<Removed[]> {
  const now = options.now ?? Date.now();
  const removed: Removed[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (options.isProtected?.(name)) continue;
    const path = join(dir, name);
    const info = await lstat(path).catch(() => null);
    if (!info?.isDirectory()) continue;
    if (ageOf(await newest(path, info), now) <= options.maxAgeMs) continue;
    const bytes = await sizeOf(path);
    await rm(path, { recursive: true, force: true });
    removed.push({ path, bytes });
  }
  return removed;
}

/** The newest times anywhere in a folder (a run still writing its log is in use however old its folder is). */
async function newest(path: string, info: { mtimeMs: number; ctimeMs: number }): Promise<{ mtimeMs: number; ctimeMs: number }> {
  let mtimeMs = info.mtimeMs;
  let ctimeMs = info.ctimeMs;
  for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
    const child = await lstat(join(path, entry.name)).catch(() => null);
    if (!child) continue;
    const inner = child.isDirectory() ? await newest(join(path, entry.name), child) : child;
    mtimeMs = Math.max(mtimeMs, inner.mtimeMs);
    ctimeMs = Math.max(ctimeMs, inner.ctimeMs);
  }
  return { mtimeMs, ctimeMs };
}

async function sizeOf(path: string): Promise<number> {
  const info = await lstat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await sizeOf(join(path, name));
  return total;
}

interface BundleEntry {
  sha256: string;
  /** Later of mtime and ctime of the bundle's folder: when it was made, or last used (see touchBundle). */
  timeMs: number;
}

async function bundlesOf(store: BlobStore): Promise<BundleEntry[]> {
  const entries: BundleEntry[] = [];
  for (const sha256 of await readdir(join(store.dir, 'bundles')).catch(() => [] as string[])) {
    const info = await lstat(join(store.dir, 'bundles', sha256)).catch(() => null);
    if (info?.isDirectory()) entries.push({ sha256, timeMs: Math.max(info.mtimeMs, info.ctimeMs) });
  }
  return entries;
}

/**
 * A bundle's folder and its manifest. Returns the blobs it listed: collectBlobs removes them whatever their age
 * if nothing else uses them (unlinking the folder's hard links just made their ctime new).
 */
async function removeBundle(store: BlobStore, sha256: string): Promise<Removed & { listed: string[] }> {
  const listed = ((await store.readManifest(sha256).catch(() => null))?.files ?? []).map((f) => f.sha256);
  const path = store.bundlePath(sha256);
  await rm(path, { recursive: true, force: true });
  const manifest = store.blobPath(sha256);
  const bytes = (await lstat(manifest).catch(() => null))?.size ?? 0;
  await rm(manifest, { force: true });
  return { path, bytes, listed };
}

/**
 * Blobs no remaining bundle lists: those a removed bundle listed (`released`), and others older than `minAgeMs`
 * (an upload whose manifest has not arrived yet is young, so a publish in progress is never broken).
 */
async function collectBlobs(store: BlobStore, minAgeMs: number, now: number, released: ReadonlySet<string>): Promise<Removed[]> {
  const used = new Set<string>();
  for (const bundle of await bundlesOf(store)) {
    used.add(bundle.sha256);
    const manifest = await store.readManifest(bundle.sha256).catch(() => null);
    for (const file of manifest?.files ?? []) used.add(file.sha256);
  }
  const removed: Removed[] = [];
  for (const sha256 of await readdir(join(store.dir, 'blobs')).catch(() => [] as string[])) {
    if (used.has(sha256)) continue;
    const path = join(store.dir, 'blobs', sha256);
    const info = await lstat(path).catch(() => null);
    if (!info?.isFile() || (!released.has(sha256) && ageOf(info, now) <= minAgeMs)) continue;
    await rm(path, { force: true });
    removed.push({ path, bytes: info.size });
  }
  return removed;
}

/**
 * The artifact store on the Mini: bundles older than `maxAgeMs` that are not protected (champions' adapters,
 * in-flight experiments' datasets and adapters), then every blob left unused.
 */
export async function pruneStore(
  store: BlobStore,
  options: { maxAgeMs: number; protect: ReadonlySet<string>; now?: number },
): Promise<Removed[]> {
  const now = options.now ?? Date.now();
  const removed: Removed[] = [];
  const released = new Set<string>();
  for (const bundle of await bundlesOf(store)) {
    if (options.protect.has(bundle.sha256) || now - bundle.timeMs <= options.maxAgeMs) continue;
    const { listed, ...gone } = await removeBundle(store, bundle.sha256);
    listed.forEach((sha) => released.add(sha));
    removed.push(gone);
  }
  return [...removed, ...(await collectBlobs(store, options.maxAgeMs, now, released))];
}

/**
 * A download cache (the laptop's `<state>/artifact-cache`) trimmed to `maxBytes`, least recently used bundle
 * first, never one in `keep` (the bundle a job is using). A removed bundle's blobs go with it unless another
 * bundle lists them; blobs of a download still in progress are listed by no bundle yet and are left alone.
 */
export async function trimCache(
  store: BlobStore,
  options: { maxBytes: number; keep: ReadonlySet<string>; now?: number },
): Promise<Removed[]> {
  const now = options.now ?? Date.now();
  const removed: Removed[] = [];
  const bundles = (await bundlesOf(store)).sort((a, b) => a.timeMs - b.timeMs);
  for (const bundle of bundles) {
    if ((await store.totalBytes()) <= options.maxBytes) break;
    if (options.keep.has(bundle.sha256)) continue;
    const { listed, ...gone } = await removeBundle(store, bundle.sha256);
    removed.push(gone, ...(await collectBlobs(store, Infinity, now, new Set(listed))));
  }
  return removed;
}

/**
 * A machine that does not hold the store (the laptop: `fleet.artifacts.url` set) cleans its own `<state>/runs`
 * by age, first at start and then every `intervalMs`; its download cache is trimmed by the artifact client as it
 * goes. On the Mini the server sweeps instead, knowing which experiments are in flight. Returns the stop function.
 */
export function startSatelliteRetention(
  options: { stateDir: string; days: number; intervalMs: number },
  warn: (message: string) => void,
): () => void {
  const sweep = () =>
    void pruneFolders(join(options.stateDir, 'runs'), { maxAgeMs: options.days * 86_400_000 }).catch((error: Error) =>
      warn(`retention: could not prune ${join(options.stateDir, 'runs')}: ${error.message}`),
    );
  sweep();
  const every = setInterval(sweep, options.intervalMs);
  every.unref();
  return () => clearInterval(every);
}
