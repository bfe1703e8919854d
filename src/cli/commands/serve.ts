import { Command } from 'commander';
import { once } from 'node:events';
import { startServer } from '../../server/serve.js';
import { UsageError } from '../../errors.js';
import { commandContext, redisFor } from '../context.js';

/** `autoresearch serve`: the dashboard, bull-board and the artifact store, until SIGINT/SIGTERM. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the results dashboard (/), bull-board (/queues), the JSON API (/api) and the artifact store (/artifacts)')
    .option('--host <address>', 'bind this address instead of server.host (anything but loopback needs AUTORESEARCH_SERVER_TOKEN)')
    .option('--port <port>', 'listen on this port instead of server.port')
    .action(async (options: { host?: string; port?: string }, command: Command) => {
      const ctx = commandContext(command, 'server');
      const port = options.port === undefined ? undefined : Number(options.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
        throw new UsageError(`--port expects a whole number between 0 and 65535, got "${options.port}"`);
      }
      const redisUrl = await redisFor(ctx);
      const server = await startServer({ config: ctx.config, redisUrl, log: ctx.log, host: options.host, port });
      process.stdout.write(`dashboard: ${server.url}/   queues: ${server.url}/queues\n`);
      if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
      await server.close();
    });
}
