import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../config/load.js';
import { BlobStore } from './blob-store.js';
import { describeFolder, manifestBytes, parseManifest, sha256Of } from './bundle.js';

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
  return new RemoteArtifacts(url, config.secrets.serverToken, new BlobStore(join(config.paths.state, 'artifact-cache')), {
    timeoutMs: config.fleet.artifacts.requestTimeoutMs,
    maxBytes: config.server.maxUploadBytes,
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
    private readonly limits: { timeoutMs: number; maxBytes: number },
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
    return sha256;
  }

  async resolveBundle(sha256: string): Promise<string> {
    const cached = this.cache.bundleFolder(sha256);
    if (cached) return cached;
    const response = await this.get(`bundles/${sha256}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const manifest = parseManifest(bytes);
    for (const file of manifest.files) {
      if (this.cache.hasBlob(file.sha256)) continue;
      const blob = await this.get(`blobs/${file.sha256}`);
      await this.cache.putBlobStream(file.sha256, Readable.fromWeb(blob.body! as never), this.limits.maxBytes);
    }
    await this.cache.putManifest(bytes, sha256);
    return this.cache.bundleFolder(sha256)!;
  }

  private async get(path: string): Promise<Response> {
    const response = await fetch(new URL(path, this.base), {
      headers: this.headers(),
      signal: AbortSignal.timeout(this.limits.timeoutMs),
    });
    if (response.status === 404) throw new ArtifactNotFoundError(`${path} is not in the artifact store at ${this.base.href}`);
    if (!response.ok) throw new Error(`artifact store answered ${response.status} for ${path}: ${await response.text()}`);
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
          res.on('data', (c: Buffer) => chunks.push(c));
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
