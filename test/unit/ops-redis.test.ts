import { describe, expect, it } from 'vitest';
import { DENIED_COMMANDS, LAPTOP_COMMANDS, LAPTOP_DENIED, passwordHash, renderAclFile, WORKER_COMMANDS } from '../../ops/redis/acl.js';
import { renderLanConf } from '../../ops/redis/conf.js';
import { connectionUrl } from '../../ops/redis/url.js';

const worker = { username: 'autoresearch', password: 'w'.repeat(32) };
const mbp = { username: 'autoresearch-mbp', password: 'm'.repeat(32) };
const admin = { username: 'admin', password: 'a'.repeat(32) };
const users = { mini: worker, mbp, mbpMachine: 'mbp', admin };

describe('renderAclFile', () => {
  const acl = renderAclFile({ prefix: 'autoresearch', ...users });
  const lines = acl.trim().split('\n');
  const workerLine = lines.find((l) => l.startsWith('user autoresearch '))!;

  it('disables the default user and stores only password hashes', () => {
    expect(lines[0]).toBe('user default reset off');
    expect(acl).not.toContain(worker.password);
    expect(workerLine).toContain(`#${passwordHash(worker.password)}`);
  });

  it('limits the worker to its prefix, no channels, and an allowlist with explicit denials last', () => {
    const rules = workerLine.split(' ');
    expect(rules).toContain('~autoresearch:*');
    expect(rules).toContain('resetchannels');
    expect(rules.indexOf('-@all')).toBeLessThan(rules.indexOf('+evalsha'));
    for (const c of DENIED_COMMANDS) expect(rules.indexOf(`-${c}`)).toBeGreaterThan(rules.indexOf('+xdel'));
    expect(rules.filter((r) => r.startsWith('+@'))).toEqual([]);
    expect(rules).not.toContain('~*');
  });

  it('never allows a command it also denies', () => {
    const allowed = new Set<string>(WORKER_COMMANDS);
    expect(DENIED_COMMANDS.filter((c) => allowed.has(c))).toEqual([]);
    expect(LAPTOP_COMMANDS.filter((c) => (LAPTOP_DENIED as readonly string[]).includes(c))).toEqual([]);
  });

  it("limits the laptop to the train-full queue's keys and its own presence", () => {
    const rules = lines.find((l) => l.startsWith('user autoresearch-mbp '))!.split(' ');
    expect(rules.filter((r) => r.startsWith('~'))).toEqual([
      '~autoresearch:train-full:*',
      '~autoresearch:fleet:presence:mbp:*',
      '~autoresearch:fleet:last-seen',
    ]);
    for (const c of ['+scan', '+client|list', '+incrbyfloat']) expect(rules).not.toContain(c);
    expect(rules).toContain('-scan');
  });

  it.each([
    [{ ...users, prefix: 'a:b' }, /prefix/],
    [{ ...users, prefix: 'p', mini: { ...worker, password: 'short' } }, /at least 16/],
    [{ ...users, prefix: 'p', mini: { ...worker, username: 'default' } }, /default user/],
    [{ ...users, prefix: 'p', mini: { ...worker, username: 'two words' } }, /user name/],
    [{ ...users, prefix: 'p', admin: { ...admin, username: worker.username } }, /must differ/],
    [{ ...users, prefix: 'p', mbpMachine: 'mb*' }, /machine name/],
  ])('refuses bad input %#', (options, message) => {
    expect(() => renderAclFile(options)).toThrow(message);
  });
});

describe('renderLanConf', () => {
  const base = { baseConf: '/repo/redis.conf', lanFragment: '/repo/ops/redis/lan.conf', port: 6379, dataDir: '/s/data', aclFile: '/s/users.acl' };

  it.each([
    [null, 'bind 127.0.0.1 -::1'],
    ['192.168.1.20', 'bind 127.0.0.1 -::1 192.168.1.20'],
    ['fd00::20', 'bind 127.0.0.1 -::1 fd00::20'],
  ])('binds loopback plus %s', (lanAddress, bind) => {
    const conf = renderLanConf({ ...base, lanAddress });
    expect(conf.split('\n')).toContain(bind);
    expect(conf).toContain('include "/repo/redis.conf"\ninclude "/repo/ops/redis/lan.conf"');
    expect(conf).toContain('aclfile "/s/users.acl"');
  });

  it.each([
    [{ ...base, lanAddress: 'mini.local' }, /not an IP address/],
    [{ ...base, lanAddress: null, port: 0 }, /port/],
    [{ ...base, lanAddress: null, dataDir: '/s/da\nta' }, /line breaks/],
    [{ ...base, lanAddress: null, aclFile: '/s/"x' }, /quotes/],
  ])('refuses bad input %#', (options, message) => {
    expect(() => renderLanConf(options)).toThrow(message);
  });
});

describe('connectionUrl', () => {
  it.each([
    [{ host: '192.168.1.20', port: 6379, username: 'autoresearch', password: 'abc' }, 'redis://autoresearch:abc@192.168.1.20:6379'],
    [{ host: 'mini.local', port: 6380, username: 'u', password: 'p@ss/w:rd', tls: true }, 'rediss://u:p%40ss%2Fw%3Ard@mini.local:6380'],
    [{ host: 'fd00::20', port: 6379, username: 'u', password: 'p' }, 'redis://u:p@[fd00::20]:6379'],
  ])('%#', (options, expected) => {
    expect(connectionUrl(options)).toBe(expected);
    expect(decodeURIComponent(new URL(expected).password)).toBe(options.password);
  });
});
