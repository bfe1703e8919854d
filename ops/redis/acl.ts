import { createHash } from 'node:crypto';

/**
 * The commands the fleet's processes send, and nothing else. BullMQ publishes no list, so this one comes from
 * running a broad real workload under MONITOR (`ops/redis/discover-commands.ts`: jobs, retries, delays, flows,
 * progress, logs, pause, clean, obliterate, bull-board's reads; Lua scripts' inner calls included) plus what
 * MONITOR never shows and the code does send: `client|list` (Queue.getWorkers, bull-board), `ping`.
 * The project's own keys, all under the prefix, add `incrbyfloat` (the planner's nightly spend); presence, the
 * planner lease and experiment records (Lua, like BullMQ) otherwise use the commands BullMQ needs.
 */
export const WORKER_COMMANDS = [
  // connection and start-up checks (BullMQ reads INFO for the version and the eviction policy)
  'ping', 'info', 'quit', 'client|setname', 'client|getname', 'client|list', 'client|id',
  // scripts: nearly all of BullMQ is Lua (each job move is one atomic script over several keys; there is no
  // script-free mode), and ioredis sends EVAL with the body whenever EVALSHA answers NOSCRIPT. Redis checks every
  // inner call against this same user, so a script reaches no other key or command. What it can still do is
  // loop: Redis then answers BUSY to everyone after busy-reply-threshold (5 s); the admin user ends it with
  // SCRIPT KILL, or SHUTDOWN NOSAVE once it has written (docs/operations.md, "A script that never ends").
  'eval', 'evalsha', 'multi', 'exec', 'discard',
  // keys and strings
  'exists', 'del', 'unlink', 'type', 'get', 'set', 'mget', 'incr', 'incrby', 'pttl', 'ttl', 'pexpire', 'pexpireat',
  'expire', 'persist', 'rename', 'scan', 'time', 'incrbyfloat',
  // hashes
  'hset', 'hget', 'hmset', 'hmget', 'hgetall', 'hdel', 'hexists', 'hincrby', 'hlen', 'hscan',
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
 * Spelled out although `-@all` already excludes them, so the ACL file says what a stolen password cannot do,
 * and so a later `+@category` added by hand cannot quietly grant them back (later rules win).
 */
export const DENIED_COMMANDS = [
  'flushall', 'flushdb', 'config', 'debug', 'shutdown', 'keys', 'monitor', 'acl', 'module', 'save', 'bgsave',
  'bgrewriteaof', 'replicaof', 'slaveof', 'migrate', 'script', 'function', 'client|kill', 'client|pause',
] as const;

/**
 * The laptop also loses what only the Mini's processes send: SCAN ignores key patterns (it lists every key
 * name in the database; the Mini lists presence keys with it), CLIENT LIST shows every other client's address
 * and last command (only bull-board's worker list needs it), and the spend counter's INCRBYFLOAT. INFO stays: ioredis's ready check and BullMQ's version check send it at every connect and fail
 * without it, and it shows counts and settings, not key names or values.
 */
export const LAPTOP_DENIED = ['scan', 'client|list', 'incrbyfloat'] as const;
export const LAPTOP_COMMANDS = WORKER_COMMANDS.filter((c) => !(LAPTOP_DENIED as readonly string[]).includes(c));

export interface AclUser {
  username: string;
  password: string;
}

export interface AclOptions {
  /** BullMQ prefix (`redis.prefix`): no user but the admin touches a key outside `<prefix>:`. */
  prefix: string;
  /** The Mini's processes (planner, server, worker): one machine, one env file, so one user. Every key under the prefix. */
  mini: AclUser;
  /** The laptop's worker: the `train-full` queue's keys and its own presence keys, nothing else. */
  mbp: AclUser;
  /** The laptop's `fleet.machine`: its presence keys are `<prefix>:fleet:presence:<machine>:<pid>`. */
  mbpMachine: string;
  /** Full rights, for maintenance with redis-cli on the Mini; never given to a process. */
  admin: AclUser;
}

const USERNAME = /^[A-Za-z0-9_-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9_-]+$/;
/** Also safe inside an ACL key pattern: no glob characters. */
const MACHINE = /^[A-Za-z0-9_-]{1,64}$/;

/** Redis stores and compares `#<sha256 hex>`, so the ACL file never holds a password in clear. */
export function passwordHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

function userLine(user: AclUser, keys: string[], commands: readonly string[], denied: readonly string[]): string {
  return [
    `user ${user.username}`,
    'reset',
    'on',
    `#${passwordHash(user.password)}`,
    ...keys.map((k) => `~${k}`),
    'resetchannels',
    '-@all',
    ...commands.map((c) => `+${c}`),
    ...denied.map((c) => `-${c}`),
  ].join(' ');
}

/**
 * An ACL file (`aclfile` in redis.conf): the default user disabled, so a connection without credentials can
 * run nothing; an admin; the Mini's user, limited to the prefix's keys and the commands above; and the laptop's
 * user, limited to the keys of the one queue it consumes and its own heartbeat. A stolen laptop (or a sniffed
 * laptop password) cannot touch an experiment's record or result, the eval or proxy queues, or another key.
 */
export function renderAclFile(options: AclOptions): string {
  const users = [options.mini, options.mbp, options.admin];
  for (const user of users) {
    if (!USERNAME.test(user.username)) throw new Error(`ACL user name "${user.username}" must be 1-64 of [A-Za-z0-9_-]`);
    if (user.username === 'default') throw new Error('the default user stays disabled; choose another name');
    if (user.password.length < 16) throw new Error(`the password of ${user.username} must be at least 16 characters`);
  }
  if (new Set(users.map((u) => u.username)).size !== users.length) throw new Error('the mini, mbp and admin users must differ');
  if (!PREFIX.test(options.prefix)) throw new Error(`prefix "${options.prefix}" must be letters, digits, "-" or "_"`);
  if (!MACHINE.test(options.mbpMachine)) throw new Error(`the laptop's machine name "${options.mbpMachine}" must be 1-64 of [A-Za-z0-9_-]`);
  const p = options.prefix;
  return [
    'user default reset off',
    `user ${options.admin.username} reset on #${passwordHash(options.admin.password)} ~* &* +@all`,
    userLine(options.mini, [`${p}:*`], WORKER_COMMANDS, DENIED_COMMANDS),
    userLine(
      options.mbp,
      [`${p}:train-full:*`, `${p}:fleet:presence:${options.mbpMachine}:*`, `${p}:fleet:last-seen`],
      LAPTOP_COMMANDS,
      [...DENIED_COMMANDS, ...LAPTOP_DENIED],
    ),
    '',
  ].join('\n');
}
