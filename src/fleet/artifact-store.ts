import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../log.js';
import { HashMismatchError, MissingBlobsError, TooLargeError, BlobStore } from './blob-store.js';
import { MAX_MANIFEST_BYTES, SHA256 } from './bundle.js';

export interface ArtifactStoreOptions {
  /** The store's folder, e.g. `<state>/artifacts`. */
  dir: string;
  /** Bearer token every request must carry; without one, only loopback clients are served. */
  token: string | undefined;
  maxUploadBytes: number;
  /**
   * The store's total size (server.storeQuotaBytes). An upload that would pass it is refused with 507, so any
   * token holder can fill at most this much of the Mini's disk; retention frees space as experiments are decided.
   */
  quotaBytes?: number;
  log: Logger;
}

/**
 * The artifact store as an express Router (mount it at `/artifacts`):
 *   PUT  /blobs/:sha256     a file's bytes, streamed; kept only if they hash to :sha256
 *   GET  /blobs/:sha256     (HEAD too)
 *   PUT  /bundles/:sha256   a bundle manifest (JSON) whose blobs are all present
 *   GET  /bundles/:sha256   the manifest
 * Refusals: 401 wrong or missing token, 400 a name that is not a sha256 (this is also what any traversal
 * attempt gets), 413 too large, 422 content that does not hash to its name, 409 a manifest with missing blobs,
 * 507 the store's quota is used up.
 */
export function createArtifactStoreRouter(options: ArtifactStoreOptions): Router {
  const store = new BlobStore(options.dir);
  const router = Router();
  router.use(authenticate(options.token));
  router.param('sha256', (req: Request, res: Response, next: NextFunction, value: string) => {
    if (!SHA256.test(value)) {
      res.status(400).json({ error: 'artifacts are named by their lowercase hex sha256' });
      return;
    }
    next();
  });

  router.put('/blobs/:sha256', async (req, res) => {
    const sha256 = req.params.sha256 as string;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > options.maxUploadBytes) {
      refuseUpload(req, res, 413, `upload of ${declared} bytes exceeds the limit of ${options.maxUploadBytes} (server.maxUploadBytes)`);
      return;
    }
    if (store.hasBlob(sha256)) {
      req.resume();
      res.status(200).json({ sha256, outcome: 'exists' });
      return;
    }
    const room = options.quotaBytes === undefined ? Infinity : options.quotaBytes - (await store.totalBytes());
    const quotaMessage = (needed: string) =>
      `the artifact store is full: ${needed} would pass its quota of ${options.quotaBytes} bytes (server.storeQuotaBytes); retention frees space as experiments are decided`;
    if ((Number.isFinite(declared) && declared > room) || room <= 0) {
      refuseUpload(req, res, 507, quotaMessage(Number.isFinite(declared) ? `${declared} more bytes` : 'another upload'));
      return;
    }
    const limit = Math.min(options.maxUploadBytes, room);
    try {
      const outcome = await store.putBlobStream(sha256, req, limit);
      res.status(outcome === 'stored' ? 201 : 200).json({ sha256, outcome });
    } catch (error) {
      if (error instanceof TooLargeError && limit < options.maxUploadBytes) refuseUpload(req, res, 507, quotaMessage('this upload'));
      else if (error instanceof TooLargeError) refuseUpload(req, res, 413, error.message);
      else if (error instanceof HashMismatchError) res.status(422).json({ error: error.message });
      else {
        options.log.error({ err: error, sha256 }, 'artifact upload failed');
        if (!res.headersSent) res.status(500).json({ error: 'upload failed' });
      }
    }
  });

  router.get('/blobs/:sha256', async (req, res) => {
    const path = store.blobPath(req.params.sha256 as string);
    const info = await stat(path).catch(() => null);
    if (!info) {
      res.status(404).json({ error: 'no such artifact' });
      return;
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', String(info.size));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(path).pipe(res);
  });

  router.put('/bundles/:sha256', express.raw({ type: () => true, limit: MAX_MANIFEST_BYTES }), async (req, res) => {
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      await store.putManifest(body, req.params.sha256 as string);
      res.status(201).json({ sha256: req.params.sha256 });
    } catch (error) {
      if (error instanceof HashMismatchError) res.status(422).json({ error: error.message });
      else if (error instanceof MissingBlobsError) res.status(409).json({ error: error.message, missing: error.missing });
      else res.status(400).json({ error: (error as Error).message });
    }
  });

  router.get('/bundles/:sha256', async (req, res) => {
    const manifest = await store.readManifest(req.params.sha256 as string).catch(() => null);
    if (!manifest || !store.bundleFolder(req.params.sha256 as string)) {
      res.status(404).json({ error: 'no such bundle' });
      return;
    }
    // The stored bytes, not a re-serialisation: the client checks they hash to the bundle's name. The store
    // usually sits under a dot-folder (.autoresearch), which express's sendFile would otherwise hide as a 404.
    res.type('application/json').sendFile(store.blobPath(req.params.sha256 as string), { dotfiles: 'allow' });
  });

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: (err as Error).message });
      return;
    }
    next(err);
  });
  return router;
}

/** Tells the client and closes the connection: the rest of an oversized body is never read. */
function refuseUpload(req: Request, res: Response, status: number, message: string): void {
  res.setHeader('connection', 'close');
  res.status(status).json({ error: message });
  req.unpipe();
  req.resume();
}

function authenticate(token: string | undefined) {
  const expected = token ? digest(token) : null;
  return (req: Request, res: Response, next: NextFunction) => {
    if (expected === null) {
      const address = req.socket.remoteAddress ?? '';
      if (address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1') return next();
      res.status(401).json({ error: 'set AUTORESEARCH_ARTIFACT_TOKEN on the store and its clients to serve other machines' });
      return;
    }
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    // Comparing fixed-length digests keeps the comparison constant-time whatever the presented length.
    if (!timingSafeEqual(digest(presented), expected)) {
      res.setHeader('www-authenticate', 'Bearer');
      res.setHeader('connection', 'close');
      res.status(401).json({ error: 'missing or wrong bearer token (AUTORESEARCH_ARTIFACT_TOKEN)' });
      return;
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
