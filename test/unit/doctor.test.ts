import { describe, expect, it } from 'vitest';
import { checkRedisLua, checkRedisMemory } from '../../src/doctor/checks.js';

describe('doctor: Redis versions with the Lua fixes', () => {
  it.each([
    ['6.2.20', true],
    ['6.2.19', false],
    ['7.0.15', false],
    ['7.2.10', false],
    ['7.2.11', true],
    ['7.4.5', false],
    ['7.4.6', true],
    ['8.0.3', false],
    ['8.0.4', true],
    ['8.2.1', false],
    ['8.2.2', true],
    ['8.4.0', true],
    ['9.0.0', true],
    ['6.0.20', false],
    ['garbage', false],
  ])('%s: ok %s', (version, ok) => {
    const row = checkRedisLua(version);
    expect(row.ok).toBe(ok);
    if (!ok) expect(row.fix).toMatch(/upgrade Redis/);
  });

  it('accepts an older upstream version whose distribution changelog lists every backported CVE, and only then', () => {
    const all = ' * CVE-2025-46817 / CVE-2025-46818 / CVE-2025-49844 / CVE-2025-46819\n * CVE-2024-46981: LUA gc\n * CVE-2024-31449: bit\n';
    expect(checkRedisLua('7.0.15', all)).toMatchObject({ ok: true, detail: expect.stringMatching(/backported/) });
    expect(checkRedisLua('7.0.15', all.replace('CVE-2024-31449', ''))).toMatchObject({ ok: false });
    expect(checkRedisLua('7.0.15', null)).toMatchObject({ ok: false });
  });
});

describe('doctor: Redis memory', () => {
  const info = (fields: Record<string, string | number>) => Object.entries(fields).map(([k, v]) => `${k}:${v}`).join('\r\n');

  it.each([
    [{ used_memory: 10 * 2 ** 20, maxmemory: 512 * 2 ** 20, maxmemory_policy: 'noeviction' }, true, /10\.0 MB of 512\.0 MB \(2%\)/],
    [{ used_memory: 10 * 2 ** 20, maxmemory: 0, maxmemory_policy: 'noeviction' }, false, /no maxmemory/],
    [{ used_memory: 10 * 2 ** 20, maxmemory: 512 * 2 ** 20, maxmemory_policy: 'allkeys-lru' }, false, /evict/],
    [{ used_memory: 450 * 2 ** 20, maxmemory: 512 * 2 ** 20, maxmemory_policy: 'noeviction' }, false, /88%/],
    [{}, false, /unknown/],
  ])('%o', (fields, ok, detail) => {
    const row = checkRedisMemory(info(fields));
    expect(row.ok).toBe(ok);
    expect(row.detail).toMatch(detail);
  });
});
