import { createHash } from 'node:crypto';

/**
 * The commands the fleet's processes send, and nothing else. BullMQ publishes no list, so this one comes from
 * running a broad real workload under MONITOR (`ops/redis/discover-commands.ts`: jobs, retries, delays, flows,
 * progress, logs, pause, clean, obliterate, bull-board's reads; Lua scripts' inner calls included) plus what
 * MONITOR never shows and the code does send: `client|list` (Queue.getWorkers, bull-board), `ping`.
 * The project's own keys, all under the prefix, add `hsetnx` (experiment records) and `incrbyfloat` (the planner's
 * nightly spend); presence, the planner lease and experiment state otherwise use the commands BullMQ needs.
 */
export const WORKER_COMMANDS = [
  // connection and start-up checks (BullMQ reads INFO for the version and the eviction policy)
  'ping', 'info', 'quit', 'client|setname', 'client|getname', 'client|list', 'client|id',
  // scripts: nearly all of BullMQ is Lua; Redis checks every inner call against this same user
  'eval', 'evalsha', 'multi', 'exec', 'discard',
  // keys and strings
  'exists', 'del', 'unlink', 'type', 'get', 'set', 'mget', 'incr', 'incrby', 'pttl', 'ttl', 'pexpire', 'pexpireat',
  'expire', 'persist', 'rename', 'scan', 'time', 'incrbyfloat',
  // hashes
  'hset', 'hsetnx', 'hget', 'hmset', 'hmget', 'hgetall', 'hdel', 'hexists', 'hincrby', 'hlen', 'hscan',
  // lists
  'lpush', 'rpush', 'lpop', 'rpop', 'rpoplpush', 'lrange', 'llen', 'lrem', 'ltrim', 'lindex', 'lpos', 'lset',
  // sets
  'sadd', 'srem', 'smembers', 'scard', 'sismember', 'sscan',
  // sorted sets (delayed, prioritized, completed, failed, the blocking marker)
  'zadd', 'zrem', 'zscore', 'zcard', 'zcount', 'zrange', 'zrevrange', 'zrangebyscore', 'zrevrangebyscore',
  'zrangebylex', 'zlexcount', 'zremrangebyscore', 'zremrangebyrank', 'zpopmin', 'bzpopmin',
  // streams (QueueEvents)
  'xadd', 'xread', 'xtrim', 'xrange', 'xrevrange', 'xlen', 'xdel',
] as const;

/**
 * Spelled out although `-@all` already excludes them, so the ACL file says what a stolen worker password cannot
 * do, and so a later `+@category` added by hand cannot quietly grant them back (later rules win).
 */
export const DENIED_COMMANDS = [
  'flushall', 'flushdb', 'config', 'debug', 'shutdown', 'keys', 'monitor', 'acl', 'module', 'save', 'bgsave',
  'bgrewriteaof', 'replicaof', 'slaveof', 'migrate', 'script', 'function', 'client|kill', 'client|pause',
] as const;

export interface AclUser {
  username: string;
  password: string;
}

export interface AclOptions {
  /** BullMQ prefix (`redis.prefix`): the worker user may touch keys under `<prefix>:` only. */
  prefix: string;
  worker: AclUser;
  /** Full rights, for maintenance with redis-cli on the Mini; never given to a worker. */
  admin: AclUser;
}

const USERNAME = /^[A-Za-z0-9_-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9_-]+$/;

/** Redis stores and compares `#<sha256 hex>`, so the ACL file never holds a password in clear. */
export function passwordHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

/**
 * An ACL file (`aclfile` in redis.conf): the default user disabled, so a connection without credentials can
 * run nothing; an admin; and the worker user limited to the prefix's keys, no channels, and the commands above.
 */
export function renderAclFile(options: AclOptions): string {
  for (const user of [options.worker, options.admin]) {
    if (!USERNAME.test(user.username)) throw new Error(`ACL user name "${user.username}" must be 1-64 of [A-Za-z0-9_-]`);
    if (user.username === 'default') throw new Error('the default user stays disabled; choose another name');
    if (user.password.length < 16) throw new Error(`the password of ${user.username} must be at least 16 characters`);
  }
  if (options.worker.username === options.admin.username) throw new Error('the worker and admin users must differ');
  if (!PREFIX.test(options.prefix)) throw new Error(`prefix "${options.prefix}" must be letters, digits, "-" or "_"`);
  const worker = [
    `user ${options.worker.username}`,
    'reset',
    'on',
    `#${passwordHash(options.worker.password)}`,
    `~${options.prefix}:*`,
    'resetchannels',
    '-@all',
    ...WORKER_COMMANDS.map((c) => `+${c}`),
    ...DENIED_COMMANDS.map((c) => `-${c}`),
  ];
  return [
    'user default reset off',
    `user ${options.admin.username} reset on #${passwordHash(options.admin.password)} ~* &* +@all`,
    worker.join(' '),
    '',
  ].join('\n');
}
