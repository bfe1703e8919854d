import { describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkRedis } from '../../src/doctor/checks.js';

describe('doctor on a real redis-server', () => {
  it("reports the server's Lua fixes and its memory limit from the project's redis.conf", async () => {
    const config = parseConfig(`redis: { url: "${inject('redisUrl')}", embedded: false }\n`, { file: null, baseDir: process.cwd(), env: {} });
    const rows = await checkRedis(config);
    const memory = rows.find((r) => r.check === 'Redis memory');
    expect(memory, JSON.stringify(rows)).toBeDefined();
    expect(memory!.ok, memory!.detail).toBe(true);
    expect(memory!.detail).toMatch(/of 512\.0 MB/);
    expect(rows.find((r) => r.check === 'Redis Lua fixes')).toBeDefined();
  });
});
