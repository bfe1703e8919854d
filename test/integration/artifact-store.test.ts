import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteArtifacts } from '../../src/fleet/artifact-client.js';
import { BlobStore, HashMismatchError } from '../../src/fleet/blob-store.js';
import { manifestBytes } from '../../src/fleet/bundle.js';
import { startArtifactServer } from '../support/artifact-server.js';

const TOKEN = 'store-token';
const LIMIT = 512 * 1024 * 1024;

/** One raw HTTP request: the path is sent exactly as given (no client-side normalisation of `..`). */
function send(base: string, method: string, path: string, options: { token?: string; body?: Readable | Buffer; length?: number } = {}) {
  const url = new URL(base);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.length !== undefined) headers['content-length'] = String(options.length);
    const req = request({ host: url.hostname, port: url.port, method, path: `${url.pathname}${path}`, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

describe('artifact store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoresearch-store-'));
  // Under a dot-folder, like the real `.autoresearch/artifacts`: static file serving hides those by default.
  const storeDir = join(dir, '.autoresearch', 'store');
  let server: Awaited<ReturnType<typeof startArtifactServer>>;
  const leftovers = () => (existsSync(join(storeDir, 'tmp')) ? readdirSync(join(storeDir, 'tmp')) : []);

  beforeAll(async () => {
    server = await startArtifactServer({ dir: storeDir, token: TOKEN, maxUploadBytes: LIMIT });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a missing or wrong token with 401', async () => {
    const body = Buffer.from('hello');
    const sha = createHash('sha256').update(body).digest('hex');
    expect((await send(server.url, 'PUT', `/blobs/${sha}`, { body, length: body.length })).status).toBe(401);
    expect((await send(server.url, 'PUT', `/blobs/${sha}`, { token: 'wrong', body, length: body.length })).status).toBe(401);
    expect((await send(server.url, 'GET', `/blobs/${sha}`, { token: `${TOKEN}x` })).status).toBe(401);
    expect(existsSync(join(storeDir, 'blobs', sha))).toBe(false);
  });

  it('refuses content that does not hash to its name with 422, keeping nothing', async () => {
    const body = Buffer.from('not what the name says');
    const res = await send(server.url, 'PUT', `/blobs/${'0'.repeat(64)}`, { token: TOKEN, body, length: body.length });
    expect(res.status).toBe(422);
    expect(res.body).toContain('hashes to');
    expect(existsSync(join(storeDir, 'blobs', '0'.repeat(64)))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('refuses names that are not a sha256, traversal included, with 400', async () => {
    for (const path of ['/blobs/..%2F..%2Fetc%2Fpasswd', '/blobs/%2e%2e', '/bundles/ABC', '/blobs/..%5c..%5csecret']) {
      const res = await send(server.url, 'GET', path, { token: TOKEN });
      expect(res.status, path).toBe(400);
    }
    expect((await send(server.url, 'PUT', '/blobs/..%2Fescape', { token: TOKEN, body: Buffer.from('x'), length: 1 })).status).toBe(400);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
  });

  it('refuses an oversized upload with 413, declared or streamed, keeping nothing', async () => {
    const small = await startArtifactServer({ dir: join(dir, 'small'), token: TOKEN, maxUploadBytes: 1024 });
    try {
      const declared = await send(small.url, 'PUT', `/blobs/${'a'.repeat(64)}`, { token: TOKEN, body: randomBytes(4096), length: 4096 });
      expect(declared.status).toBe(413);
      // No content-length: the limit is enforced while streaming.
      const streamed = await send(small.url, 'PUT', `/blobs/${'b'.repeat(64)}`, { token: TOKEN, body: Readable.from([randomBytes(800), randomBytes(800)]) });
      expect(streamed.status).toBe(413);
      expect(readdirSync(join(dir, 'small', 'tmp'))).toEqual([]);
      expect(readdirSync(join(dir, 'small', 'blobs'))).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('refuses uploads past the store quota with 507, declared or streamed, and still accepts what is already there', async () => {
    const quota = await startArtifactServer({ dir: join(dir, 'quota'), token: TOKEN, maxUploadBytes: 1024 * 1024, quotaBytes: 10_000 });
    try {
      const put = (body: Buffer, declared = true) =>
        send(quota.url, 'PUT', `/blobs/${createHash('sha256').update(body).digest('hex')}`, {
          token: TOKEN,
          body: declared ? body : Readable.from([body]),
          ...(declared ? { length: body.length } : {}),
        });
      const first = randomBytes(6_000);
      expect((await put(first)).status).toBe(201);
      const second = await put(randomBytes(6_000));
      expect(second.status).toBe(507);
      expect(second.body).toContain('server.storeQuotaBytes');
      expect((await put(randomBytes(6_000), false)).status).toBe(507);
      expect((await put(first)).status).toBe(200);
      expect((await put(randomBytes(3_000))).status).toBe(201);
      expect(readdirSync(join(dir, 'quota', 'blobs'))).toHaveLength(2);
      expect(readdirSync(join(dir, 'quota', 'tmp'))).toEqual([]);
    } finally {
      await quota.close();
    }
  });

  it('streams a 256 MB upload to disk without holding it in memory', async () => {
    const chunk = randomBytes(1024 * 1024);
    const hash = createHash('sha256');
    for (let i = 0; i < 256; i++) hash.update(chunk);
    const sha = hash.digest('hex');
    let i = 0;
    const body = new Readable({
      read() {
        this.push(i++ < 256 ? chunk : null);
      },
    });
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const res = await send(server.url, 'PUT', `/blobs/${sha}`, { token: TOKEN, body, length: 256 * 1024 * 1024 });
    clearInterval(sampler);
    expect(res.status).toBe(201);
    expect(statSync(join(storeDir, 'blobs', sha)).size).toBe(256 * 1024 * 1024);
    expect(peak - before).toBeLessThan(96 * 1024 * 1024);
    expect(leftovers()).toEqual([]);
  });

  it('round-trips an adapter folder between machines, refuses a manifest with missing blobs, and caches downloads', async () => {
    const adapter = join(dir, 'adapter');
    mkdirSync(adapter);
    writeFileSync(join(adapter, 'adapters.safetensors'), randomBytes(10_000));
    writeFileSync(join(adapter, 'adapter_config.json'), '{"rank": 8}');
    const laptop = new RemoteArtifacts(server.url, TOKEN, new BlobStore(join(dir, 'laptop-cache')), { timeoutMs: 10_000, maxBytes: LIMIT });
    const sha = await laptop.publishFolder(adapter);

    const mini = new RemoteArtifacts(server.url, TOKEN, new BlobStore(join(dir, 'other-cache')), { timeoutMs: 10_000, maxBytes: LIMIT });
    const folder = await mini.resolveBundle(sha);
    expect(readFileSync(join(folder, 'adapters.safetensors'))).toEqual(readFileSync(join(adapter, 'adapters.safetensors')));
    expect(readFileSync(join(folder, 'adapter_config.json'), 'utf8')).toBe('{"rank": 8}');
    expect(await mini.resolveBundle(sha)).toBe(folder);

    const manifest = Buffer.from(`${JSON.stringify({ bundle: 1, files: [{ name: 'x.bin', sha256: 'c'.repeat(64), size: 1 }] })}\n`);
    const manifestSha = createHash('sha256').update(manifest).digest('hex');
    const res = await send(server.url, 'PUT', `/bundles/${manifestSha}`, { token: TOKEN, body: manifest, length: manifest.length });
    expect(res.status).toBe(409);
    expect((await send(server.url, 'GET', `/bundles/${manifestSha}`, { token: TOKEN })).status).toBe(404);
  });

  it('on the store machine, publishing is by hard link: no copy', async () => {
    const local = new BlobStore(join(dir, 'local-store'));
    const adapter = join(dir, 'adapter-local');
    mkdirSync(adapter);
    writeFileSync(join(adapter, 'adapters.safetensors'), randomBytes(1000));
    const sha = await local.putFolder(adapter);
    const stored = join(local.bundleFolder(sha)!, 'adapters.safetensors');
    expect(statSync(stored).ino).toBe(statSync(join(adapter, 'adapters.safetensors')).ino);
  });
});

/**
 * A store that lies: a real HTTP server whose routes each serve one hostile answer, recording which paths were
 * asked for. The client must verify before it fetches, and bound what it reads.
 */
describe('artifact client against a hostile store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoresearch-hostile-'));
  const requested: string[] = [];
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const big = randomBytes(1024 * 1024);
  const routes = new Map<string, (res: express.Response) => void>();
  let server: Server;
  let base: string;
  const client = (name: string, maxBytes = LIMIT) => new RemoteArtifacts(base, TOKEN, new BlobStore(join(dir, name)), { timeoutMs: 10_000, maxBytes });

  beforeAll(async () => {
    const app = express();
    app.use((req, res) => {
      requested.push(req.path);
      const route = routes.get(req.path);
      if (route) route(res);
      else res.status(404).end();
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/artifacts`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks the manifest hashes to the bundle name before downloading any blob it lists', async () => {
    const manifest = manifestBytes({ bundle: 1, files: [{ name: 'big.bin', sha256: sha(big), size: big.length }] });
    const claimed = 'd'.repeat(64);
    routes.set(`/artifacts/bundles/${claimed}`, (res) => res.type('application/json').send(manifest));
    routes.set(`/artifacts/blobs/${sha(big)}`, (res) => res.send(big));
    requested.length = 0;
    await expect(client('c1').resolveBundle(claimed)).rejects.toThrow(HashMismatchError);
    expect(requested).toEqual([`/artifacts/bundles/${claimed}`]);
  });

  it('reads a manifest body only up to its limit, declared or streamed', async () => {
    const endless = 'e'.repeat(64);
    routes.set(`/artifacts/bundles/${endless}`, (res) => {
      res.type('application/json');
      // No content-length: chunked, 8 MiB of it.
      for (let i = 0; i < 8; i++) res.write(Buffer.alloc(1024 * 1024, 0x20));
      res.end();
    });
    await expect(client('c2').resolveBundle(endless)).rejects.toThrow(/exceeds the 1048576 bytes/);
    const declared = 'f'.repeat(64);
    routes.set(`/artifacts/bundles/${declared}`, (res) => res.type('application/json').send(Buffer.alloc(2 * 1024 * 1024, 0x20)));
    await expect(client('c2').resolveBundle(declared)).rejects.toThrow(/2097152 bytes, over the 1048576/);
  });

  it("refuses a blob longer than the manifest's size for it, and a manifest declaring more than the limit", async () => {
    // A consistent manifest (it hashes to its name) that understates a real blob's size.
    const manifest = manifestBytes({ bundle: 1, files: [{ name: 'big.bin', sha256: sha(big), size: 10 }] });
    routes.set(`/artifacts/bundles/${sha(manifest)}`, (res) => res.type('application/json').send(manifest));
    routes.set(`/artifacts/blobs/${sha(big)}`, (res) => res.send(big));
    await expect(client('c3').resolveBundle(sha(manifest))).rejects.toThrow(/manifest says 10/);
    routes.set(`/artifacts/blobs/${sha(big)}`, (res) => {
      res.write(big);
      res.end();
    });
    await expect(client('c3').resolveBundle(sha(manifest))).rejects.toThrow(/limit of 10 bytes/);
    expect(existsSync(join(dir, 'c3', 'blobs', sha(big)))).toBe(false);

    requested.length = 0;
    const huge = manifestBytes({ bundle: 1, files: [{ name: 'big.bin', sha256: sha(big), size: big.length }] });
    routes.set(`/artifacts/bundles/${sha(huge)}`, (res) => res.type('application/json').send(huge));
    await expect(client('c4', 1024).resolveBundle(sha(huge))).rejects.toThrow(/over the limit of 1024/);
    expect(requested).toEqual([`/artifacts/bundles/${sha(huge)}`]);
  });

  it('adoptFile hashes what it links: a file that changed since it was hashed is not stored under the old name', async () => {
    const store = new BlobStore(join(dir, 'adopt'));
    const file = join(dir, 'changing.bin');
    writeFileSync(file, 'the content that was hashed');
    const before = createHash('sha256').update('the content that was hashed').digest('hex');
    writeFileSync(file, 'something else by the time it is adopted');
    await expect(store.adoptFile(file, before)).rejects.toThrow(HashMismatchError);
    expect(store.hasBlob(before)).toBe(false);
    expect(readdirSync(join(dir, 'adopt', 'tmp'))).toEqual([]);
  });
});
