import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  agentPath,
  brewRunsRedis,
  defaultEnvFile,
  defaultLogDir,
  findExecutable,
  hostPlatform,
  install,
  LABEL_PREFIX,
  managerFor,
  readTemplates,
  status,
  uninstall,
  type Platform,
} from '../../../ops/install.js';
import { ROLES, type Role } from '../../../ops/plan.js';
import { lanFiles } from '../../../ops/redis/setup.js';
import { execaRunner, type CommandRunner } from '../../../ops/runner.js';
import { loadConfig } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import { PROJECT_ROOT } from '../../project.js';
import { color, formatTable, printJson } from '../output.js';

const platformOption = () =>
  new Option('--platform <os>', 'macos renders launchd agents, linux systemd user units').choices(['macos', 'linux']).default(hostPlatform());

const out = (text: string) => process.stdout.write(text);

function explainLinux(platform: Platform): void {
  if (platform === 'linux') {
    process.stderr.write('launchd is macOS-only: on Linux this installs systemd user units instead (same commands, a timer for the night).\n');
  }
}

function parseAt(at: string): { hour: number; minute: number } {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at);
  if (!m) throw new UsageError(`--at expects a local time as HH:MM (24-hour), got "${at}"`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

interface InstallOptions {
  role: Role;
  dryRun?: boolean;
  platform: Platform;
  redis: 'auto' | 'agent' | 'skip';
  at: string;
  envFile?: string;
  logDir?: string;
}

/** `autoresearch ops install|uninstall|status`; the runner is injected so tests can stand in for launchctl. */
export function opsCommand(run: CommandRunner = execaRunner): Command {
  const ops = new Command('ops').description('install the agents that run this machine unattended (launchd on macOS, systemd on Linux)');

  ops
    .command('install')
    .description('render the agents for this machine with absolute paths, write them and load them')
    .addOption(new Option('--role <role>', 'mini: planner at night, worker, server, Redis; mbp: the laptop worker').choices(ROLES).makeOptionMandatory())
    .option('--dry-run', 'print the files and commands instead of writing and loading anything')
    .addOption(platformOption())
    .addOption(
      new Option('--redis <how>', 'Mini only: auto runs Redis as an agent unless `brew services` runs it').choices(['auto', 'agent', 'skip']).default('auto'),
    )
    .option('--at <HH:MM>', 'when the nightly planner starts', '02:00')
    .option('--env-file <path>', 'environment file the agents load (REDIS_URL, tokens); default ~/.config/autoresearch/env')
    .option('--log-dir <path>', 'where the agents write their logs')
    .action(async (options: InstallOptions, command: Command) => {
      const { config: file } = command.optsWithGlobals<{ config?: string }>();
      const config = loadConfig({ file });
      explainLinux(options.platform);
      const night = { ...parseAt(options.at), maxExperiments: config.run.maxExperiments, maxHours: config.run.maxHours };
      const redis = options.role === 'mini' ? await redisAgent(options, config.paths.state, run) : null;
      await install({
        manager: managerFor(options.platform, run),
        dryRun: Boolean(options.dryRun),
        out,
        plan: {
          role: options.role,
          templates: readTemplates(),
          node: process.execPath,
          repo: PROJECT_ROOT,
          logs: resolve(options.logDir ?? defaultLogDir(options.platform)),
          envFile: resolve(options.envFile ?? defaultEnvFile()),
          config: config.source,
          path: agentPath(process.execPath),
          labelPrefix: LABEL_PREFIX,
          night,
          redis,
        },
      });
    });

  ops
    .command('uninstall')
    .description('unload every autoresearch agent on this machine and delete its file')
    .option('--dry-run', 'say what would be removed')
    .addOption(platformOption())
    .action(async (options: { dryRun?: boolean; platform: Platform }) => {
      explainLinux(options.platform);
      await uninstall(managerFor(options.platform, run), Boolean(options.dryRun), out);
    });

  ops
    .command('status')
    .description('which agents are installed, loaded and running')
    .option('--json', 'print as JSON')
    .addOption(platformOption())
    .action(async (options: { json?: boolean; platform: Platform }) => {
      const rows = await status(managerFor(options.platform, run));
      if (options.json) {
        printJson(rows);
        return;
      }
      const paint = (s: string) => (s === 'running' ? color.green(s) : s === 'failed' ? color.red(s) : s === 'loaded' ? s : color.dim(s));
      out(`${formatTable(['agent', 'state', 'pid', 'detail'], rows.map((r) => [r.name, paint(r.state), r.pid ? String(r.pid) : '', r.detail]))}\n`);
    });
  return ops;
}

async function redisAgent(options: InstallOptions, stateDir: string, run: CommandRunner): Promise<{ server: string; conf: string } | null> {
  if (options.redis === 'skip') return null;
  if (options.redis === 'auto' && options.platform === 'macos' && (await brewRunsRedis(run))) {
    process.stderr.write('Redis runs under `brew services`: not installing a Redis agent (include the generated config in brew\'s redis.conf; see docs/operations.md)\n');
    return null;
  }
  const conf = lanFiles(stateDir).conf;
  if (!existsSync(conf) && !options.dryRun) {
    throw new UsageError(`no Redis set-up at ${conf}: run \`autoresearch redis setup --lan <the Mini's IP>\` first, or pass --redis skip`);
  }
  const server = findExecutable('redis-server', agentPath(process.execPath));
  if (!server) throw new UsageError('redis-server is not installed: brew install redis (or pass --redis skip)');
  return { server, conf };
}
