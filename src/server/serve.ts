import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import type { Config } from '../config/load.js';
import { createArtifactStoreRouter } from '../fleet/artifact-store.js';
import { localStoreDir } from '../fleet/artifact-client.js';
import { PROJECT_VERSION } from '../fleet/presence.js';
import type { Logger } from '../log.js';
import { producerConnection } from '../redis/connections.js';
import { QUEUES } from '../../queues/names.js';
import { oneShotSampler } from '../planner/sampler-process.js';
import { hyperparameterTable } from '../research/hyperparameters.js';
import { createServerApp } from './app.js';
import { loadStatus } from './data.js';
import { ImportanceCache } from './importance.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  redisUrl: string;
  log: Logger;
  /** Overrides server.host / server.port (tests bind port 0). */
  host?: string;
  port?: number;
}

/** Connects to Redis, builds the app over every queue of the fleet, and listens. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, log } = options;
  const host = options.host ?? config.server.host;
  const token = config.secrets.serverToken;
  const redis = producerConnection(options.redisUrl);
  redis.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
  await new Promise<void>((resolve, reject) => {
    if (redis.status === 'ready') return resolve();
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within 10 s; is it running at the configured url?`)), 10_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  }).catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });
  const queues = QUEUES.map((name) => new Queue(name, { connection: redis, prefix: config.redis.prefix }));
  const closeAll = async () => {
    await Promise.allSettled(queues.map((q) => q.close()));
    redis.disconnect();
  };
  const specs = hyperparameterTable().parameters;
  const importance = new ImportanceCache(oneShotSampler(), specs);
  let app;
  try {
    app = createServerApp({
      host,
      token,
      paths: { results: config.paths.results, logs: config.paths.logs, state: config.paths.state },
      jailbreakVeto: config.council.thresholds.jailbreakVeto,
      queues,
      status: () => loadStatus(redis, config.redis.prefix, queues),
      redisHealth: async () => {
        try {
          return (await redis.ping()) === 'PONG' ? 'ok' : 'unexpected PING reply';
        } catch (error) {
          return (error as Error).message;
        }
      },
      version: PROJECT_VERSION,
      specs,
      importance: (parsed) => importance.get(parsed),
      artifacts: createArtifactStoreRouter({ dir: localStoreDir(config), token, maxUploadBytes: config.server.maxUploadBytes, log }),
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
  const server = app.listen(options.port ?? config.server.port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    await closeAll();
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'EADDRINUSE'
        ? `port ${options.port ?? config.server.port} on ${host} is in use: stop the other server or set server.port`
        : `cannot listen on ${host}: ${(error as Error).message}`,
    );
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shown}:${address.port}`;
  log.info({ url, auth: token ? 'token' : 'none (loopback only)' }, 'server listening');
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAll();
    },
  };
}
