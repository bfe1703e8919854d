import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../fs/atomic.js';
import { describeFolder, hashFile, manifestBytes, parseManifest, SHA256, sha256Of, type Manifest } from './bundle.js';

export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
}
export class HashMismatchError extends Error {
  override readonly name = 'HashMismatchError';
}
export class MissingBlobsError extends Error {
  override readonly name = 'MissingBlobsError';
  constructor(readonly missing: string[]) {
    super(`the bundle refers to blobs the store does not have: ${missing.join(', ')}`);
  }
}

/**
 * Content-addressed files on disk: `blobs/<sha256>` (files and manifests alike) and `bundles/<sha256>/`, a
 * bundle's folder made of hard links to its blobs, so a bundle costs no extra space and is readable in place.
 * Everything arrives in `tmp/` first and is renamed into place only once its hash checks out.
 */
export class BlobStore {
  constructor(readonly dir: string) {}

  blobPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
    return join(this.dir, 'blobs', sha256);
  }

  bundlePath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
    return join(this.dir, 'bundles', sha256);
  }

  hasBlob(sha256: string): boolean {
    return existsSync(this.blobPath(sha256));
  }

  /** The bundle's folder if it is complete here, else null. */
  bundleFolder(sha256: string): string | null {
    const path = this.bundlePath(sha256);
    return existsSync(path) ? path : null;
  }

  async readManifest(sha256: string): Promise<Manifest | null> {
    if (!this.hasBlob(sha256)) return null;
    return parseManifest(await readFile(this.blobPath(sha256)));
  }

  /**
   * Streams `source` into a temp file, hashing and counting; renames it into place only if the hash matches
   * (and the size, when `exactSize` is given: a manifest's declared size).
   */
  async putBlobStream(sha256: string, source: Readable, maxBytes: number, exactSize?: number): Promise<'stored' | 'exists'> {
    const target = this.blobPath(sha256);
    if (existsSync(target)) {
      source.resume();
      return 'exists';
    }
    const tmp = await this.tempPath();
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            size += chunk.length;
            if (size > maxBytes) throw new TooLargeError(`upload exceeds the store's limit of ${maxBytes} bytes`);
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: 'wx' }),
      );
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new HashMismatchError(`content hashes to ${actual}, not ${sha256}`);
      if (exactSize !== undefined && size !== exactSize) throw new HashMismatchError(`content is ${size} bytes, not the ${exactSize} declared`);
      await fsyncFile(tmp);
      await rename(tmp, target);
      return 'stored';
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Adds a local file by hard link (same file system: no copy), else by copy. What was linked is hashed again
   * before it is named: the file may have changed since its hash was taken, and a blob's name is its promise.
   */
  async adoptFile(path: string, sha256: string): Promise<void> {
    const target = this.blobPath(sha256);
    if (existsSync(target)) return;
    const tmp = await this.tempPath();
    try {
      await link(path, tmp).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EXDEV' && error.code !== 'EPERM') throw error;
        await copyFile(path, tmp);
      });
      const actual = (await hashFile(tmp)).sha256;
      if (actual !== sha256) throw new HashMismatchError(`${path} hashes to ${actual}, not ${sha256} (it changed since it was hashed?); not stored`);
      await rename(tmp, target);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Bytes on disk: every blob (a bundle's folder is hard links to them) plus uploads in progress in `tmp/`. */
  async totalBytes(): Promise<number> {
    let total = 0;
    for (const sub of ['blobs', 'tmp']) {
      const names = await readdir(join(this.dir, sub)).catch(() => [] as string[]);
      for (const name of names) total += (await lstat(join(this.dir, sub, name)).catch(() => null))?.size ?? 0;
    }
    return total;
  }

  /** Records a bundle whose blobs are all present and builds its folder; returns the bundle's sha256. */
  async putManifest(bytes: Buffer, expectedSha256?: string): Promise<string> {
    const sha256 = sha256Of(bytes);
    if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
      throw new HashMismatchError(`manifest hashes to ${sha256}, not ${expectedSha256}`);
    }
    const manifest = parseManifest(bytes);
    const missing = manifest.files.filter((f) => !this.hasBlob(f.sha256)).map((f) => f.sha256);
    if (missing.length > 0) throw new MissingBlobsError(missing);
    if (!this.hasBlob(sha256)) {
      await mkdir(join(this.dir, 'blobs'), { recursive: true });
      writeFileAtomic(this.blobPath(sha256), bytes);
    }
    await this.materialize(sha256, manifest);
    return sha256;
  }

  /** Publishes a local folder without copying it (hard links), returning the bundle's sha256. */
  async putFolder(dir: string): Promise<string> {
    const manifest = await describeFolder(dir);
    for (const file of manifest.files) await this.adoptFile(join(dir, file.name), file.sha256);
    return this.putManifest(manifestBytes(manifest));
  }

  private async materialize(sha256: string, manifest: Manifest): Promise<void> {
    const target = this.bundlePath(sha256);
    if (existsSync(target)) return;
    const tmp = await this.tempPath();
    await mkdir(tmp);
    try {
      for (const file of manifest.files) await link(this.blobPath(file.sha256), join(tmp, file.name));
      await mkdir(join(this.dir, 'bundles'), { recursive: true });
      await rename(tmp, target).catch((error: NodeJS.ErrnoException) => {
        // Another process materialised the same bundle first: identical content, keep theirs.
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async tempPath(): Promise<string> {
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    await mkdir(join(this.dir, 'blobs'), { recursive: true });
    return join(this.dir, 'tmp', `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
