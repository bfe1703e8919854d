import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { execa } from 'execa';
import { parse } from 'plist';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseUnitFile, splitQuoted } from '../../ops/systemd/render.js';
import { opsCommand } from '../../src/cli/commands/ops.js';
import { redisCommand } from '../../src/cli/commands/redis.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { FakeServiceTools } from './ops-fakes.js';

type Dict = Record<string, unknown>;

/** `autoresearch ops ...` as the CLI runs it, with the fake service tools, a temporary HOME and config. */
describe('ops install / uninstall / status', () => {
  let home: string;
  let configFile: string;
  let fake: FakeServiceTools;
  let printed: string;
  const saved = { HOME: process.env.HOME, AUTORESEARCH_CONFIG: process.env.AUTORESEARCH_CONFIG };

  const cli = async (...argv: string[]) => {
    const program = new Command('autoresearch').exitOverride().option('-c, --config <file>');
    program.addCommand(opsCommand(fake.run)).addCommand(redisCommand());
    printed = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed += String(chunk);
      return true;
    });
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(argv, { from: 'user' });
    } finally {
      write.mockRestore();
      warn.mockRestore();
    }
    return printed;
  };
  const agent = (name: string) =>
    parse(readFileSync(join(home, 'Library', 'LaunchAgents', `com.autoresearch.${name}.plist`), 'utf8')) as Dict;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'autoresearch-home-'));
    configFile = join(home, 'autoresearch.config.yaml');
    writeFileSync(configFile, `paths:\n  state: ${join(home, 'state')}\nrun:\n  maxExperiments: 6\n  maxHours: 3\n`);
    process.env.HOME = home;
    process.env.AUTORESEARCH_CONFIG = configFile;
    fake = new FakeServiceTools(join(home, '.config', 'systemd', 'user'));
  });
  afterEach(() => {
    process.env.HOME = saved.HOME;
    if (saved.AUTORESEARCH_CONFIG === undefined) delete process.env.AUTORESEARCH_CONFIG;
    else process.env.AUTORESEARCH_CONFIG = saved.AUTORESEARCH_CONFIG;
    rmSync(home, { recursive: true, force: true });
  });

  it('mbp --dry-run prints the laptop worker plist and writes nothing', async () => {
    const text = await cli('ops', 'install', '--role', 'mbp', '--dry-run', '--platform', 'macos');
    const xml = text.slice(text.indexOf('<?xml'), text.indexOf('</plist>') + '</plist>'.length);
    const worker = parse(xml) as Dict;
    expect(worker.Label).toBe('com.autoresearch.worker');
    expect(worker.ProgramArguments).toEqual([
      process.execPath,
      `--env-file=${join(home, '.config', 'autoresearch', 'env')}`,
      join(PROJECT_ROOT, 'bin', 'autoresearch.js'),
      'worker',
      '--role',
      'mbp',
    ]);
    expect(worker.RunAtLoad).toBe(true);
    expect(worker.KeepAlive).toBe(true);
    expect(text).toContain('launchctl bootstrap gui/');
    expect(text.match(/<plist /g)).toHaveLength(1);
    expect(existsSync(join(home, 'Library'))).toBe(false);
    expect(fake.calls.filter((c) => c[0] === 'launchctl')).toEqual([]);
  });

  it('mini on macOS: renders and loads planner, worker, server and Redis with absolute paths', async () => {
    await cli('redis', 'setup', '--lan', '192.168.1.20');
    await cli('ops', 'install', '--role', 'mini', '--platform', 'macos');

    const logs = join(home, 'Library', 'Logs', 'autoresearch');
    const planner = agent('planner');
    expect((planner.ProgramArguments as string[]).slice(3)).toEqual(['run', '--max-experiments', '6', '--max-hours', '3']);
    expect(planner.StartCalendarInterval).toEqual({ Hour: 2, Minute: 0 });
    expect(planner.KeepAlive).toBeUndefined();
    expect(planner.RunAtLoad).toBe(false);
    for (const name of ['planner', 'worker', 'server']) {
      const a = agent(name);
      expect(a.StandardOutPath).toBe(join(logs, `${name}.out.log`));
      expect(a.StandardErrorPath).toBe(join(logs, `${name}.err.log`));
      expect(a.WorkingDirectory).toBe(PROJECT_ROOT);
      expect((a.EnvironmentVariables as Dict).AUTORESEARCH_CONFIG).toBe(configFile);
      expect((a.EnvironmentVariables as Dict).PATH).toMatch(/^\/.*:\/opt\/homebrew\/bin:/);
      expect((a.ProgramArguments as string[])[0]).toBe(process.execPath);
    }
    expect((agent('worker').ProgramArguments as string[]).slice(-3)).toEqual(['worker', '--role', 'mini']);
    expect(agent('worker')).toMatchObject({ RunAtLoad: true, KeepAlive: true });
    expect((agent('server').ProgramArguments as string[]).slice(-1)).toEqual(['serve']);
    expect(agent('server')).toMatchObject({ RunAtLoad: true, KeepAlive: true });
    expect(agent('redis').ProgramArguments).toEqual(['/usr/bin/redis-server', join(home, 'state', 'redis-lan', 'redis.conf')]);

    expect([...fake.loaded.keys()].sort()).toEqual(['planner', 'redis', 'server', 'worker'].map((n) => `com.autoresearch.${n}`));
    const bootstraps = fake.calls.filter((c) => c[1] === 'bootstrap');
    expect(bootstraps).toHaveLength(4);
    expect(bootstraps[0]).toEqual(['launchctl', 'bootstrap', `gui/${process.getuid!()}`, join(home, 'Library', 'LaunchAgents', 'com.autoresearch.planner.plist')]);
    const envFile = join(home, '.config', 'autoresearch', 'env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(existsSync(logs)).toBe(true);
  });

  it('a second install reloads (bootout, then bootstrap) instead of failing on a loaded label', async () => {
    await cli('ops', 'install', '--role', 'mbp', '--platform', 'macos');
    fake.calls.length = 0;
    await cli('ops', 'install', '--role', 'mbp', '--platform', 'macos', '--at', '03:30');
    expect(fake.calls.map((c) => c[1])).toEqual(['print', 'bootout', 'bootstrap']);
    expect(printed).toContain('reloaded com.autoresearch.worker');
  });

  it('skips the Redis agent when Homebrew services runs Redis', async () => {
    fake = new FakeServiceTools(join(home, '.config', 'systemd', 'user'), true);
    await cli('ops', 'install', '--role', 'mini', '--platform', 'macos');
    expect(fake.loaded.has('com.autoresearch.redis')).toBe(false);
    expect(fake.loaded.size).toBe(3);
  });

  it('refuses to install a Redis agent before `redis setup`', async () => {
    await expect(cli('ops', 'install', '--role', 'mini', '--platform', 'macos')).rejects.toThrow(/redis setup --lan/);
    expect(fake.loaded.size).toBe(0);
  });

  it('status and uninstall: loaded agents unloaded, missing ones tolerated, files deleted', async () => {
    await cli('ops', 'install', '--role', 'mbp', '--platform', 'macos');
    const status = JSON.parse(await cli('ops', 'status', '--json', '--platform', 'macos')) as Array<{ name: string; state: string; pid: number | null }>;
    expect(status.find((s) => s.name === 'worker')).toMatchObject({ state: 'running', pid: 4242 });
    expect(status.find((s) => s.name === 'planner')).toMatchObject({ state: 'not installed' });

    await cli('ops', 'uninstall', '--platform', 'macos');
    expect(fake.loaded.size).toBe(0);
    expect(printed).toContain('unloaded com.autoresearch.worker');
    expect(printed).toContain('com.autoresearch.planner was not loaded');
    expect(existsSync(join(home, 'Library', 'LaunchAgents', 'com.autoresearch.worker.plist'))).toBe(false);
  });

  it('on Linux: systemd user units with a timer for the night, parsed back to the same commands', async () => {
    await cli('ops', 'install', '--role', 'mini', '--platform', 'linux', '--redis', 'skip', '--at', '02:00');
    expect(fake.unitFiles()).toEqual([
      'autoresearch-planner.service',
      'autoresearch-planner.timer',
      'autoresearch-server.service',
      'autoresearch-worker.service',
    ]);
    const worker = parseUnitFile(fake.unitText('autoresearch-worker.service'));
    expect(splitQuoted(worker.Service!.ExecStart![0]!, 'exec')).toEqual([
      process.execPath,
      `--env-file=${join(home, '.config', 'autoresearch', 'env')}`,
      join(PROJECT_ROOT, 'bin', 'autoresearch.js'),
      'worker',
      '--role',
      'mini',
    ]);
    expect(worker.Service!.Restart).toEqual(['always']);
    expect(worker.Install!.WantedBy).toEqual(['default.target']);
    const logs = join(home, '.local', 'state', 'autoresearch', 'logs');
    expect(worker.Service!.StandardOutput).toEqual([`append:${join(logs, 'worker.out.log')}`]);
    const env = worker.Service!.Environment!.flatMap((e) => splitQuoted(e, 'environment'));
    expect(env).toContain(`AUTORESEARCH_CONFIG=${configFile}`);
    expect(env.some((e) => e.startsWith('PATH=/'))).toBe(true);

    const timer = parseUnitFile(fake.unitText('autoresearch-planner.timer'));
    expect(timer.Timer).toMatchObject({ OnCalendar: ['*-*-* 02:00:00'], Unit: ['autoresearch-planner.service'] });
    const planner = parseUnitFile(fake.unitText('autoresearch-planner.service'));
    expect(planner.Service!.Restart).toEqual(['no']);
    expect(planner.Install).toBeUndefined();
    expect([...fake.enabled].sort()).toEqual(['autoresearch-planner.timer', 'autoresearch-server.service', 'autoresearch-worker.service']);

    // systemd's own parser agrees (it checks the syntax and that the executables exist).
    const verify = await execa('systemd-analyze', ['verify', '--man=no', ...fake.unitFiles().map((f) => join(home, '.config', 'systemd', 'user', f))], {
      reject: false,
    });
    expect(`${verify.stdout}${verify.stderr}`).not.toMatch(/Unknown (key|section)|Failed to parse|Invalid/i);

    await cli('ops', 'uninstall', '--platform', 'linux');
    expect(fake.enabled.size).toBe(0);
    expect(fake.unitFiles()).toEqual([]);
  });
});
