import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QUEUES } from '../../queues/names.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { logger } from '../../src/log.js';
import { producerConnection } from '../../src/redis/connections.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { uniquePrefix } from '../support/redis.js';
import { launchChromium } from './dashboard-browser.js';

const TOKEN = 'a-long-server-token-for-tests-0123456789';
const ARTIFACT_TOKEN = 'the-laptops-artifact-token-0123456789';
const SHA = 'a'.repeat(64);

function configFor(root: string, prefix: string, token: string | undefined, server = ''): Config {
  return parseConfig(`paths: { state: ${join(root, 'state')} }\nredis: { prefix: ${prefix}, embedded: false }\n${server}`, {
    file: null,
    baseDir: root,
    env: token ? { AUTORESEARCH_SERVER_TOKEN: token, AUTORESEARCH_ARTIFACT_TOKEN: ARTIFACT_TOKEN } : {},
  });
}

/** One request with a chosen Host header (fetch does not let a caller set Host). */
function withHost(base: string, path: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  const url = new URL(base.replace('0.0.0.0', '127.0.0.1'));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: url.port, path, headers: { ...headers, host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;

describe('autoresearch serve: authentication, bull-board and the artifact store', () => {
  const root = mkdtempSync(join(tmpdir(), 'autoresearch-server-'));
  const prefix = uniquePrefix('srv');
  let local: RunningServer;
  let exposed: RunningServer;
  let queue: Queue;

  beforeAll(async () => {
    const url = inject('redisUrl');
    local = await startServer({ config: configFor(root, prefix, TOKEN), redisUrl: url, log: logger('test'), host: '127.0.0.1', port: 0 });
    // Bound to every interface: the policy for a LAN-facing server; requests still come over loopback here.
    exposed = await startServer({ config: configFor(root, prefix, TOKEN), redisUrl: url, log: logger('test'), host: '0.0.0.0', port: 0 });
    queue = new Queue('eval', { connection: producerConnection(url), prefix });
  });
  afterAll(async () => {
    await queue.close();
    await local.close();
    await exposed.close();
    rmSync(root, { recursive: true, force: true });
  });

  const at = (server: RunningServer, path: string) => `${server.url.replace('0.0.0.0', '127.0.0.1')}${path}`;

  it('refuses to serve a non-loopback address without a token', async () => {
    await expect(
      startServer({ config: configFor(root, prefix, undefined), redisUrl: inject('redisUrl'), log: logger('test'), host: '0.0.0.0', port: 0 }),
    ).rejects.toThrow(/AUTORESEARCH_SERVER_TOKEN/);
  });

  it('on a non-loopback address: everything but health needs the token, as Bearer or Basic', async () => {
    const health = await fetch(at(exposed, '/api/health'));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, redis: 'ok' });
    for (const path of ['/', '/api/results', '/api/status', '/queues', '/queues/api/queues', '/experiments/exp-1/records']) {
      const anonymous = await fetch(at(exposed, path));
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="autoresearch"/);
      const wrong = await fetch(at(exposed, path), { headers: { authorization: `Bearer ${TOKEN}x` } });
      expect(wrong.status, path).toBe(401);
      const prefixOnly = await fetch(at(exposed, path), { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } });
      expect(prefixOnly.status, path).toBe(401);
    }
    expect((await fetch(at(exposed, '/api/results'), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(at(exposed, '/'), { headers: { authorization: basic(TOKEN) } })).status).toBe(200);
    expect((await fetch(at(exposed, '/'), { headers: { authorization: basic('guess') } })).status).toBe(401);
    // The artifact store answers to its own token only: 401 without it or with the server token, 404 (no such blob) with it.
    expect((await fetch(at(exposed, `/artifacts/blobs/${SHA}`))).status).toBe(401);
    expect((await fetch(at(exposed, `/artifacts/blobs/${SHA}`), { headers: { authorization: `Bearer ${ARTIFACT_TOKEN}` } })).status).toBe(404);
    expect((await fetch(at(exposed, `/artifacts/blobs/${SHA}`), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
  });

  it("the laptop's artifact token opens the artifact store and nothing else", async () => {
    const bearer = { authorization: `Bearer ${ARTIFACT_TOKEN}` };
    for (const path of ['/', '/api/results', '/api/status', '/queues/api/queues', '/admin/queues/api/queues']) {
      expect((await fetch(at(exposed, path), { headers: bearer })).status, path).toBe(401);
    }
    const pause = await fetch(at(local, '/admin/queues/api/queues/eval/pause'), { method: 'PUT', headers: { ...bearer, 'sec-fetch-site': 'same-origin' } });
    expect(pause.status).toBe(401);
    expect(await queue.isPaused()).toBe(false);
    expect((await fetch(at(local, `/artifacts/blobs/${SHA}`), { headers: bearer })).status).toBe(404);
  });

  it('refuses to start with the same token for both: the laptop would hold the admin token', async () => {
    const same = parseConfig(`paths: { state: ${join(root, 'state')} }\nredis: { prefix: ${prefix}, embedded: false }\n`, {
      file: null,
      baseDir: root,
      env: { AUTORESEARCH_SERVER_TOKEN: TOKEN, AUTORESEARCH_ARTIFACT_TOKEN: TOKEN },
    });
    await expect(startServer({ config: same, redisUrl: inject('redisUrl'), log: logger('test'), host: '127.0.0.1', port: 0 })).rejects.toThrow(/must differ/);
  });

  it('on loopback: reads are open, and the dashboard pages forbid scripts', async () => {
    const page = await fetch(at(local, '/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const status = (await (await fetch(at(local, '/api/status'))).json()) as { redis: string; queues: Array<{ name: string }> };
    expect(status.redis).toBe('ok');
    expect(status.queues.map((q) => q.name)).toEqual([...QUEUES]);
    expect((await fetch(at(local, '/experiments/..%2F..%2Fetc/records'))).status).toBe(404);
  });

  it('bull-board lists every queue of the fleet, read-only', async () => {
    const res = await fetch(at(local, '/queues/api/queues'));
    const body = (await res.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...QUEUES].sort());
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);

    const profile = mkdtempSync(join(tmpdir(), 'autoresearch-chromium-'));
    const context = await launchChromium(profile);
    try {
      const page = await context.newPage();
      await page.goto(at(local, '/queues'));
      for (const name of QUEUES) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 20_000 });
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('refuses writes without auth; the admin board takes them with the token, same-origin only', async () => {
    await queue.add('eval', { experimentId: 'exp-1' });
    for (const [method, path] of [
      ['PUT', '/queues/api/queues/eval/pause'],
      ['POST', '/queues/api/queues/eval/add'],
      ['PUT', '/queues/api/queues/eval/empty'],
    ] as const) {
      expect((await fetch(at(local, path), { method, headers: { authorization: `Bearer ${TOKEN}` } })).status, path).toBe(405);
    }
    const pause = at(local, '/admin/queues/api/queues/eval/pause');
    expect((await fetch(pause, { method: 'PUT' })).status).toBe(401);
    expect((await fetch(pause, { method: 'PUT', headers: { authorization: `Bearer wrong` } })).status).toBe(401);
    expect(
      (await fetch(pause, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } })).status,
    ).toBe(403);
    expect(await queue.isPaused()).toBe(false);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });

    const ok = await fetch(pause, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'same-origin' } });
    expect(ok.status).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    const resume = await fetch(at(local, '/admin/queues/api/queues/eval/resume'), { method: 'PUT', headers: { authorization: basic(TOKEN) } });
    expect(resume.status).toBe(200);
    expect(await queue.isPaused()).toBe(false);
  });

  it('answers only for known Host names: a rebound DNS name gets 421, even on loopback and for the artifact store', async () => {
    const port = new URL(local.url).port;
    for (const path of ['/', '/api/results', '/api/health', `/artifacts/blobs/${SHA}`, '/queues/api/queues']) {
      expect(await withHost(local.url, path, `attacker.example:${port}`), path).toBe(421);
      expect(await withHost(local.url, path, `attacker.example:${port}`, { authorization: `Bearer ${ARTIFACT_TOKEN}` }), path).toBe(421);
      expect(await withHost(exposed.url, path, 'attacker.example', { authorization: `Bearer ${TOKEN}` }), path).toBe(421);
    }
    expect(await withHost(local.url, '/api/results', `localhost:${port}`)).toBe(200);
    expect(await withHost(local.url, '/api/results', `127.0.0.1:${port}`)).toBe(200);
    expect(await withHost(local.url, '/api/results', `[::1]:${port}`)).toBe(200);
    expect(await withHost(exposed.url, '/api/results', '192.168.1.20:8377', { authorization: `Bearer ${TOKEN}` })).toBe(200);

    const named = await startServer({
      config: configFor(root, prefix, TOKEN, 'server: { allowedHosts: [mini.home.arpa] }\n'),
      redisUrl: inject('redisUrl'),
      log: logger('test'),
      host: '127.0.0.1',
      port: 0,
    });
    try {
      expect(await withHost(named.url, '/api/results', 'mini.home.arpa:8377')).toBe(200);
      expect(await withHost(named.url, '/api/results', 'mini.home.arpa.attacker.example')).toBe(421);
    } finally {
      await named.close();
    }
  });

  it('puts no time limit on a whole upload, only on silence: a stalled upload is cut and leaves nothing', async () => {
    // Node's default requestTimeout (300 s) would cut a slow 4 GiB upload that is still moving.
    expect(local.http.requestTimeout).toBe(0);
    expect(local.http.headersTimeout).toBe(60_000);
    expect(local.http.timeout).toBe(120_000);

    const idle = await startServer({
      config: configFor(root, prefix, TOKEN, 'server: { idleTimeoutMs: 1000 }\n'),
      redisUrl: inject('redisUrl'),
      log: logger('test'),
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const url = new URL(idle.url);
      const socket = connect(Number(url.port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `PUT /artifacts/blobs/${SHA} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${ARTIFACT_TOKEN}\r\ncontent-length: 100000\r\n\r\n`,
      );
      socket.write(Buffer.alloc(1000, 1));
      socket.resume();
      // Then nothing more: the server must close the connection on its own.
      await new Promise((resolve) => socket.once('close', resolve));
      const tmp = join(root, 'state', 'artifacts', 'tmp');
      for (let i = 0; i < 100 && existsSync(tmp) && readdirSync(tmp).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
    } finally {
      await idle.close();
    }
  });
});
