import { createReadStream } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../config/load.js';
import { BlobStore, HashMismatchError, TooLargeError } from './blob-store.js';
import { describeFolder, MAX_MANIFEST_BYTES, manifestBytes, parseManifest, sha256Of } from './bundle.js';
import { trimCache } from './retention.js';

/** An error body is shown to a person; the rest of it is not read. */
const MAX_ERROR_BODY_BYTES = 4_096;

/**
 * Datasets and adapters by sha256, wherever the store is. On the store's own machine (no `fleet.artifacts.url`)
 * bundles are published by hard link and read in place: nothing is copied. Elsewhere, uploads stream to the
 * store and downloads land in a local cache keyed by hash, verified before use.
 */
export interface ArtifactStore {
  /** Publishes a flat folder; returns the bundle's sha256. */
  publishFolder(dir: string): Promise<string>;
  /** A local folder holding the bundle's files. */
  resolveBundle(sha256: string): Promise<string>;
}

export class ArtifactNotFoundError extends Error {
  override readonly name = 'ArtifactNotFoundError';
}

export function artifactStoreFor(config: Pick<Config, 'fleet' | 'paths' | 'secrets' | 'server'>): ArtifactStore {
  const url = config.fleet.artifacts.url;
  if (!url) return new LocalArtifacts(new BlobStore(localStoreDir(config)));
  return new RemoteArtifacts(url, config.secrets.artifactToken, new BlobStore(join(config.paths.state, 'artifact-cache')), {
    timeoutMs: config.fleet.artifacts.requestTimeoutMs,
    maxBytes: config.server.maxUploadBytes,
    cacheMaxBytes: config.fleet.artifacts.cacheMaxBytes,
  });
}

/** Where the store keeps its files on the machine that serves it. */
export function localStoreDir(config: Pick<Config, 'paths'>): string {
  return join(config.paths.state, 'artifacts');
}

class LocalArtifacts implements ArtifactStore {
  constructor(private readonly store: BlobStore) {}

  publishFolder(dir: string): Promise<string> {
    return this.store.putFolder(dir);
  }

  async resolveBundle(sha256: string): Promise<string> {
    const folder = this.store.bundleFolder(sha256);
    if (!folder) throw new ArtifactNotFoundError(`bundle ${sha256} is not in the artifact store at ${this.store.dir}`);
    return folder;
  }
}

export class RemoteArtifacts implements ArtifactStore {
  private readonly base: URL;

  constructor(
    url: string,
    private readonly token: string | undefined,
    private readonly cache: BlobStore,
    private readonly limits: { timeoutMs: number; maxBytes: number; /** @defaultValue no trimming */ cacheMaxBytes?: number },
  ) {
    this.base = new URL(url.endsWith('/') ? url : `${url}/`);
  }

  async publishFolder(dir: string): Promise<string> {
    const manifest = await describeFolder(dir);
    for (const file of manifest.files) {
      const head = await this.send('HEAD', `blobs/${file.sha256}`);
      if (head.status === 200) continue;
      const put = await this.send('PUT', `blobs/${file.sha256}`, { path: join(dir, file.name), size: file.size });
      if (put.status !== 201 && put.status !== 200) throw new Error(`artifact store refused ${file.name}: ${put.status} ${put.text}`);
    }
    const bytes = manifestBytes(manifest);
    const sha256 = sha256Of(bytes);
    const put = await this.send('PUT', `bundles/${sha256}`, { bytes });
    if (put.status !== 201) throw new Error(`artifact store refused the manifest of ${dir}: ${put.status} ${put.text}`);
    await this.cache.putFolder(dir);
    await this.trim(sha256);
    return sha256;
  }

  /**
   * Verify first, bound every read: the manifest is read up to MAX_MANIFEST_BYTES and must hash to the bundle's
   * name before anything it lists is fetched; each file's declared size must fit `maxBytes` (and all of them
   * together too); each blob is read up to its declared size and must hash to its name.
   */
  async resolveBundle(sha256: string): Promise<string> {
    const cached = this.cache.bundleFolder(sha256);
    if (cached) {
      // Marks it used, for the cache's least-recently-used order.
      const now = new Date();
      await utimes(cached, now, now).catch(() => undefined);
      return cached;
    }
    const response = await this.get(`bundles/${sha256}`);
    const bytes = await readBounded(response, MAX_MANIFEST_BYTES, `the manifest of bundle ${sha256}`);
    const actual = sha256Of(bytes);
    if (actual !== sha256) throw new HashMismatchError(`the artifact store sent a manifest that hashes to ${actual}, not ${sha256}; nothing was downloaded`);
    const manifest = parseManifest(bytes);
    const total = manifest.files.reduce((sum, f) => sum + f.size, 0);
    const tooBig = manifest.files.find((f) => f.size > this.limits.maxBytes);
    if (tooBig || total > this.limits.maxBytes) {
      throw new TooLargeError(
        `bundle ${sha256} declares ${tooBig ? `${tooBig.name} of ${tooBig.size} bytes` : `${total} bytes in all`}, over the limit of ${this.limits.maxBytes} (server.maxUploadBytes); nothing was downloaded`,
      );
    }
    for (const file of manifest.files) {
      if (this.cache.hasBlob(file.sha256)) continue;
      const blob = await this.get(`blobs/${file.sha256}`);
      const declared = Number(blob.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared !== file.size) {
        await blob.body?.cancel();
        throw new Error(`the artifact store sent ${declared} bytes for ${file.name}, whose manifest says ${file.size}`);
      }
      await this.cache.putBlobStream(file.sha256, Readable.fromWeb(blob.body! as never), file.size, file.size);
    }
    await this.cache.putManifest(bytes, sha256);
    await this.trim(sha256);
    return this.cache.bundleFolder(sha256)!;
  }

  /**
   * Keeps the cache under `cacheMaxBytes`, never removing the bundle just used. A failure to delete is not the
   * job's failure: the next trim tries again.
   */
  private async trim(inUse: string): Promise<void> {
    if (this.limits.cacheMaxBytes === undefined) return;
    await trimCache(this.cache, { maxBytes: this.limits.cacheMaxBytes, keep: new Set([inUse]) }).catch(() => undefined);
  }

  private async get(path: string): Promise<Response> {
    const response = await fetch(new URL(path, this.base), {
      headers: this.headers(),
      signal: AbortSignal.timeout(this.limits.timeoutMs),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new ArtifactNotFoundError(`${path} is not in the artifact store at ${this.base.href}`);
    }
    if (!response.ok) {
      const text = (await readBounded(response, MAX_ERROR_BODY_BYTES, 'an error body', { truncate: true })).toString('utf8');
      throw new Error(`artifact store answered ${response.status} for ${path}: ${text}`);
    }
    return response;
  }

  private headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** node:http rather than fetch, so a file streams up with an exact content-length and is never buffered. */
  private send(
    method: 'HEAD' | 'PUT',
    path: string,
    body?: { path: string; size: number } | { bytes: Buffer },
  ): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.base);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const length = body === undefined ? 0 : 'bytes' in body ? body.bytes.length : body.size;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: { ...this.headers(), 'content-type': 'application/octet-stream', 'content-length': String(length) },
          timeout: this.limits.timeoutMs,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          res.on('data', (c: Buffer) => {
            // Only the start of a reply is shown; the rest is drained, never held.
            if (kept < MAX_ERROR_BODY_BYTES) chunks.push(c.subarray(0, MAX_ERROR_BODY_BYTES - kept));
            kept += c.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, 500) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`artifact store ${url.origin} did not answer within ${this.limits.timeoutMs} ms`)));
      req.on('error', reject);
      if (body === undefined) req.end();
      else if ('bytes' in body) req.end(body.bytes);
      else createReadStream(body.path).on('error', reject).pipe(req);
    });
  }
}

/**
 * A response body up to `limit` bytes. Over it: an error (the rest is never read), or with `truncate` the first
 * `limit` bytes. A declared content-length over the limit is refused before reading anything.
 */
async function readBounded(response: Response, limit: number, what: string, options: { truncate?: boolean } = {}): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (!options.truncate && Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw new TooLargeError(`${what} is ${declared} bytes, over the ${limit} it may have`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.length > limit) {
      await reader.cancel();
      if (options.truncate) {
        chunks.push(Buffer.from(value.subarray(0, limit - size)));
        break;
      }
      throw new TooLargeError(`${what} exceeds the ${limit} bytes it may have`);
    }
    chunks.push(Buffer.from(value));
    size += value.length;
  }
  return Buffer.concat(chunks);
}
