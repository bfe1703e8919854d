import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import type { Config } from '../config/load.js';
import { createArtifactStoreRouter } from '../fleet/artifact-store.js';
import { localStoreDir } from '../fleet/artifact-client.js';
import { PROJECT_VERSION } from '../fleet/presence.js';
import type { Logger } from '../log.js';
import { producerConnection } from '../redis/connections.js';
import { QUEUES } from '../../queues/names.js';
import { oneShotSampler } from '../planner/sampler-process.js';
import { searchSpace } from '../research/hyperparameters.js';
import { createServerApp } from './app.js';
import { loadStatus } from './data.js';
import { startRetention } from './retention.js';
import { loadTimeline } from './timeline-data.js';
import { ImportanceCache } from './importance.js';

export interface RunningServer {
  url: string;
  /** The listening node:http server (its timeouts are part of the contract). */
  http: Server;
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
  if (token && token === config.secrets.artifactToken) {
    throw new Error('AUTORESEARCH_ARTIFACT_TOKEN must differ from AUTORESEARCH_SERVER_TOKEN: the laptop holds the artifact token, and it must not open the dashboard or the admin queue board');
  }
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
  const specsFor = (mode: 'full' | 'proxy') => searchSpace(config.models[mode].searchSpace).table.parameters;
  const importance = new ImportanceCache(oneShotSampler(), specsFor);
  let app;
  try {
    app = createServerApp({
      host,
      token,
      paths: { results: config.paths.results, logs: config.paths.logs, state: config.paths.state },
      jailbreakVeto: config.council.thresholds.jailbreakVeto,
      queues,
      status: () => loadStatus(redis, config.redis.prefix, queues),
      timeline: () => loadTimeline(redis, config.redis.prefix, queues),
      redisHealth: async () => {
        try {
          return (await redis.ping()) === 'PONG' ? 'ok' : 'unexpected PING reply';
        } catch (error) {
          return (error as Error).message;
        }
      },
      version: PROJECT_VERSION,
      allowedHosts: config.server.allowedHosts,
      specsFor,
      importance: (parsed) => importance.get(parsed),
      artifacts: createArtifactStoreRouter({
        dir: localStoreDir(config),
        token: config.secrets.artifactToken,
        maxUploadBytes: config.server.maxUploadBytes,
        quotaBytes: config.server.storeQuotaBytes,
        log,
      }),
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
  // Node's default requestTimeout (300 s for a whole request) cuts a 4 GiB upload over slow Wi-Fi, and the
  // laptop's retry then trains again. No whole-request limit; a connection silent for idleTimeoutMs is closed,
  // and headers must still arrive within 60 s (slow-loris).
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000 }, app);
  server.setTimeout(config.server.idleTimeoutMs);
  server.listen(options.port ?? config.server.port, host);
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
  // The Mini holds the store, the eval runs and its own training runs; the server is the process always up there.
  const stopRetention = startRetention(config, redis, log);
  return {
    url,
    http: server,
    async close() {
      stopRetention();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAll();
    },
  };
}
