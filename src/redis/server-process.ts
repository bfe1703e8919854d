import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { EnvironmentError } from '../errors.js';
import { PROJECT_ROOT } from '../project.js';
import { probeRedis } from './connections.js';

export interface RedisServerHandle {
  url: string;
  port: number;
  dataDir: string;
  /** Shuts the server down (SHUTDOWN via SIGTERM: the AOF is flushed) and waits for the process to exit. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  port: number;
  dataDir: string;
  /** Extra redis-server arguments, e.g. ['--appendonly', 'no'] for throwaway test servers. */
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

/** Starts `redis-server` with the project's redis.conf on 127.0.0.1 and waits until it answers. */
export async function startRedisServer(options: StartRedisOptions): Promise<RedisServerHandle> {
  mkdirSync(options.dataDir, { recursive: true });
  const url = `redis://127.0.0.1:${options.port}`;
  let child: ResultPromise;
  try {
    child = execa(
      'redis-server',
      [
        join(PROJECT_ROOT, 'redis.conf'),
        '--port', String(options.port),
        '--bind', '127.0.0.1',
        '--dir', options.dataDir,
        '--logfile', join(options.dataDir, 'redis.log'),
        ...(options.extraArgs ?? []),
      ],
      { stdio: 'ignore', reject: false, cleanup: true },
    );
  } catch (error) {
    throw new EnvironmentError(`could not start redis-server: ${(error as Error).message}; run \`sh scripts/setup.sh\``);
  }
  let exited = false;
  void child.then((result) => {
    exited = true;
    return result;
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  for (;;) {
    if (exited) {
      const result = await child;
      const missing = (result as { code?: string }).code === 'ENOENT';
      throw new EnvironmentError(
        missing
          ? 'redis-server is not installed: run `sh scripts/setup.sh` (or brew install redis / apt-get install redis-server)'
          : `redis-server exited at start (code ${result.exitCode}); see ${join(options.dataDir, 'redis.log')}`,
      );
    }
    const probe = await probeRedis(url, 500);
    if (probe.ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EnvironmentError(`redis-server did not answer on ${url} within the start timeout; see ${join(options.dataDir, 'redis.log')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port: options.port,
    dataDir: options.dataDir,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      await child;
    },
  };
}
