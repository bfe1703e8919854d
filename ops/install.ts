import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../src/project.js';
import { writeFileAtomic } from '../src/fs/atomic.js';
import { launchdManager } from './launchd/launchctl.js';
import type { Agent } from './launchd/render.js';
import { planAgents, TEMPLATE_NAMES, type PlanInputs, type TemplateName } from './plan.js';
import type { CommandRunner } from './runner.js';
import type { ServiceManager, ServiceStatus } from './service-manager.js';
import { systemdManager } from './systemd/systemctl.js';

export type Platform = 'macos' | 'linux';
export const LABEL_PREFIX = 'com.autoresearch';
export const ALL_AGENT_NAMES = ['planner', 'worker', 'server', 'redis'] as const;

export function hostPlatform(): Platform {
  return process.platform === 'darwin' ? 'macos' : 'linux';
}

export function managerFor(platform: Platform, run: CommandRunner, home = homedir()): ServiceManager {
  return platform === 'macos'
    ? launchdManager({ run, dir: join(home, 'Library', 'LaunchAgents'), uid: process.getuid?.() ?? 501, labelPrefix: LABEL_PREFIX })
    : systemdManager({ run, dir: join(home, '.config', 'systemd', 'user') });
}

export function defaultLogDir(platform: Platform, home = homedir()): string {
  return platform === 'macos' ? join(home, 'Library', 'Logs', 'autoresearch') : join(home, '.local', 'state', 'autoresearch', 'logs');
}

export function defaultEnvFile(home = homedir()): string {
  return join(home, '.config', 'autoresearch', 'env');
}

export function readTemplates(dir = join(PROJECT_ROOT, 'ops', 'launchd')): Record<TemplateName, string> {
  return Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(join(dir, `${n}.plist`), 'utf8')])) as Record<TemplateName, string>;
}

/** An executable's absolute path from PATH, as launchd needs it (it does not search PATH for ProgramArguments[0]). */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Homebrew's folders first, so agents find the same git, redis-server and python the user does. */
export function agentPath(node: string): string {
  const dirs = [dirname(node), '/opt/homebrew/bin', '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  return [...new Set(dirs)].join(':');
}

/** True when `brew services` already runs Redis, so installing a second one would fight it for the port. */
export async function brewRunsRedis(run: CommandRunner): Promise<boolean> {
  const result = await run('brew', ['services', 'info', 'redis', '--json']);
  if (result.exitCode !== 0) return false;
  try {
    const info = JSON.parse(result.stdout) as Array<{ name?: string; running?: boolean }>;
    return info.some((s) => s.name === 'redis' && s.running === true);
  } catch {
    return false;
  }
}

const ENV_FILE_TEMPLATE = `# Environment of the autoresearch agents, read with \`node --env-file\`. Keep it private (chmod 600).
# On the laptop: the line printed by \`autoresearch redis url --for mbp\` on the Mini, e.g.
# REDIS_URL=redis://autoresearch-mbp:<password>@192.168.1.20:6379
# and the artifact store's token (the same on both machines; it opens /artifacts only).
# On the Mini: \`autoresearch redis url --for mini\`, both tokens, and the API key. The server token opens the
# dashboard and the admin queue board: it stays on the Mini, never on the laptop.
# AUTORESEARCH_ARTIFACT_TOKEN=
# AUTORESEARCH_SERVER_TOKEN=
# ANTHROPIC_API_KEY=
`;

export interface InstallRequest {
  manager: ServiceManager;
  plan: PlanInputs;
  dryRun: boolean;
  out: (text: string) => void;
}

/** Renders the agents, writes them (and the env file and log folder if missing), then (re)loads them. */
export async function install(request: InstallRequest): Promise<Agent[]> {
  const { manager, plan, out } = request;
  const agents = planAgents(plan);
  const files = manager.files(agents);
  const envMissing = !existsSync(plan.envFile);
  if (request.dryRun) {
    for (const file of files) out(`# ${file.path}\n${file.content}\n`);
    if (envMissing) out(`# would create ${plan.envFile} (mode 600) with commented REDIS_URL, AUTORESEARCH_ARTIFACT_TOKEN, AUTORESEARCH_SERVER_TOKEN and ANTHROPIC_API_KEY\n`);
    out(`# then run:\n${manager.loadCommands(agents).map((argv) => `#   ${argv.join(' ')}`).join('\n')}\n`);
    return agents;
  }
  mkdirSync(plan.logs, { recursive: true });
  if (envMissing) {
    writeFileAtomic(plan.envFile, ENV_FILE_TEMPLATE, { mode: 0o600 });
    out(`created ${plan.envFile}: put REDIS_URL and the tokens there (see docs/operations.md)\n`);
  } else if ((statSync(plan.envFile).mode & 0o077) !== 0) {
    out(`warning: ${plan.envFile} is readable by other users; run chmod 600 ${plan.envFile}\n`);
  }
  for (const file of files) {
    writeFileAtomic(file.path, file.content);
    out(`wrote ${file.path}\n`);
  }
  for (const message of await manager.load(agents)) out(`${message}\n`);
  return agents;
}

export async function uninstall(manager: ServiceManager, dryRun: boolean, out: (text: string) => void): Promise<void> {
  if (dryRun) {
    out(`# would unload ${ALL_AGENT_NAMES.join(', ')} where loaded and delete their files in ${manager.dir}\n`);
    return;
  }
  const { messages, files } = await manager.unload(ALL_AGENT_NAMES);
  for (const message of messages) out(`${message}\n`);
  for (const file of files) {
    if (!existsSync(file)) continue;
    rmSync(file);
    out(`deleted ${file}\n`);
  }
}

export function status(manager: ServiceManager): Promise<ServiceStatus[]> {
  return manager.status(ALL_AGENT_NAMES);
}

