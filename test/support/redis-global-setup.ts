import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../../src/redis/server-process.js';
import { freePort } from '../../src/net/free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A real redis-server for this test run, on a free port with a temporary data folder. */
    redisUrl: string;
    redisPort: number;
    redisDataDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'autoresearch-redis-'));
  const server = await startRedisServer({ port: await freePort(), dataDir });
  project.provide('redisUrl', server.url);
  project.provide('redisPort', server.port);
  project.provide('redisDataDir', dataDir);
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
