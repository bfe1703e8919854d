import { describe, expect, it } from 'vitest';
import { DENIED_COMMANDS, passwordHash, renderAclFile, WORKER_COMMANDS } from '../../ops/redis/acl.js';
import { renderLanConf } from '../../ops/redis/conf.js';
import { connectionUrl } from '../../ops/redis/url.js';

const worker = { username: 'autoresearch', password: 'w'.repeat(32) };
const admin = { username: 'admin', password: 'a'.repeat(32) };

describe('renderAclFile', () => {
  const acl = renderAclFile({ prefix: 'autoresearch', worker, admin });
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
  });

  it.each([
    [{ prefix: 'a:b', worker, admin }, /prefix/],
    [{ prefix: 'p', worker: { ...worker, password: 'short' }, admin }, /at least 16/],
    [{ prefix: 'p', worker: { ...worker, username: 'default' }, admin }, /default user/],
    [{ prefix: 'p', worker: { ...worker, username: 'two words' }, admin }, /user name/],
    [{ prefix: 'p', worker, admin: { ...admin, username: worker.username } }, /must differ/],
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
