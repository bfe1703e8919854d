import type { Server } from 'node:http';
import express from 'express';
import { createArtifactStoreRouter } from '../../src/fleet/artifact-store.js';
import { logger } from '../../src/log.js';

/** The artifact store mounted as `autoresearch serve` mounts it, on a free port (or `port`, to restart one); for tests. */
export async function startArtifactServer(options: { dir: string; token: string | undefined; maxUploadBytes: number; quotaBytes?: number; port?: number }) {
  const app = express();
  const { port: wanted, ...store } = options;
  app.use('/artifacts', createArtifactStoreRouter({ ...store, log: logger('artifacts') }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(wanted ?? 0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/artifacts`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
