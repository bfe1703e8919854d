import { isIP } from 'node:net';
import { Command, Option } from 'commander';
import { lanFiles, readLanSetup, writeLanSetup } from '../../../ops/redis/setup.js';
import { connectionUrl } from '../../../ops/redis/url.js';
import { loadConfig } from '../../config/load.js';
import { UsageError } from '../../errors.js';

function portOf(url: string): number {
  return Number(new URL(url).port || 6379);
}

/** `autoresearch redis setup|url`: Redis shared by the Mini and the laptop, one ACL user per machine plus an admin. */
export function redisCommand(): Command {
  const redis = new Command('redis').description('Redis for two machines: ACL users, LAN config, connection URLs');

  redis
    .command('setup')
    .description('write the ACL file, a redis.conf bound to loopback and the LAN address, and the credentials (Mini)')
    .option('--lan <ip>', "the Mini's address on the home network (omit to listen on loopback only)")
    .option('--port <port>', 'port to listen on (default: the port of redis.url)')
    .option('--rotate', 'new passwords (every machine then needs the new URL)')
    .option('--laptop-machine <name>', "the laptop's fleet.machine, which its ACL user may heartbeat as (default: mbp, or as set before)")
    .action((options: { lan?: string; port?: string; rotate?: boolean; laptopMachine?: string }, command: Command) => {
      const { config: file } = command.optsWithGlobals<{ config?: string }>();
      const config = loadConfig({ file });
      if (options.lan !== undefined && isIP(options.lan) === 0) {
        throw new UsageError(`--lan expects an IP address such as 192.168.1.20, got "${options.lan}" (Redis binds addresses, not names)`);
      }
      const port = options.port === undefined ? portOf(config.redis.url) : Number(options.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UsageError(`--port expects 1-65535, got "${options.port}"`);
      const { files, rotated } = writeLanSetup({
        stateDir: config.paths.state,
        prefix: config.redis.prefix,
        lanAddress: options.lan ?? null,
        port,
        rotate: Boolean(options.rotate),
        ...(options.laptopMachine ? { mbpMachine: options.laptopMachine } : {}),
      });
      process.stdout.write(
        [
          `wrote ${files.conf}`,
          `wrote ${files.acl} (${rotated ? 'new passwords' : 'passwords kept'})`,
          `wrote ${files.credentials} (mode 600)`,
          '',
          'next:',
          `  start it:   autoresearch ops install --role mini   (or: redis-server ${files.conf})`,
          '  a running server picks up new users with: redis-cli --user admin --askpass ACL LOAD',
          '  on the Mini, put the line from `autoresearch redis url --for mini --env` in ~/.config/autoresearch/env',
          '  on the laptop, put the line from `autoresearch redis url --for mbp --env` in its ~/.config/autoresearch/env',
          '',
        ].join('\n'),
      );
    });

  redis
    .command('url')
    .description('print the Redis URL a machine should use (it holds a password: paste it into the env file only)')
    .addOption(new Option('--for <machine>', 'mini: loopback; mbp: the LAN address').choices(['mini', 'mbp']).makeOptionMandatory())
    .option('--host <host>', 'reach the Mini by this name or address instead of the LAN address (e.g. mini.local)')
    .option('--tls', 'a rediss:// URL, for a server with tls-port (see docs/operations.md, TLS)')
    .option('--admin', "the admin user instead of the machine's user (maintenance only)")
    .option('--env', 'print it as a REDIS_URL= line for the env file')
    .action((options: { for: 'mini' | 'mbp'; host?: string; tls?: boolean; admin?: boolean; env?: boolean }, command: Command) => {
      const { config: file } = command.optsWithGlobals<{ config?: string }>();
      const config = loadConfig({ file });
      const files = lanFiles(config.paths.state);
      const setup = readLanSetup(files);
      if (!setup) throw new UsageError(`no Redis set-up at ${files.credentials}: run \`autoresearch redis setup --lan <the Mini's IP>\` on the Mini first`);
      const host = options.host ?? (options.for === 'mini' ? '127.0.0.1' : setup.lanAddress);
      if (!host) {
        throw new UsageError('this Redis listens on loopback only: re-run `autoresearch redis setup --lan <the Mini\'s IP>`, or pass --host');
      }
      const user = options.admin ? setup.admin : setup[options.for];
      const url = connectionUrl({ host, port: setup.port, username: user.username, password: user.password, tls: options.tls });
      process.stdout.write(options.env ? `REDIS_URL=${url}\n` : `${url}\n`);
    });
  return redis;
}
