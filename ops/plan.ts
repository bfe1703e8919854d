import { isAbsolute } from 'node:path';
import { renderAgent, type Agent } from './launchd/render.js';

export const ROLES = ['mini', 'mbp'] as const;
export type Role = (typeof ROLES)[number];
export const TEMPLATE_NAMES = ['planner', 'worker', 'server', 'redis'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface PlanInputs {
  role: Role;
  /** Template texts from ops/launchd/<name>.plist. */
  templates: Readonly<Record<TemplateName, string>>;
  node: string;
  repo: string;
  logs: string;
  envFile: string;
  /** The config file the commands should read, or null to let them use the defaults. */
  config: string | null;
  /** PATH for the agents: launchd starts them with /usr/bin:/bin:/usr/sbin:/sbin only. */
  path: string;
  labelPrefix: string;
  /** The nightly run: the seed's 6 experiments / 3 hours at 02:00. */
  night: { maxExperiments: number; maxHours: number; hour: number; minute: number };
  /** Run Redis as an agent (absent when Homebrew services runs it). */
  redis: { server: string; conf: string } | null;
}

/**
 * What each machine runs. The Mini: the nightly planner, its worker (proxy training and evaluation), the web
 * server, and Redis unless Homebrew runs it. The laptop: its worker only, started at login and kept alive.
 */
export function planAgents(inputs: PlanInputs): Agent[] {
  for (const [what, path] of [['node', inputs.node], ['repo', inputs.repo], ['log folder', inputs.logs], ['env file', inputs.envFile]] as const) {
    if (!isAbsolute(path)) throw new Error(`the ${what} path must be absolute, got "${path}"`);
  }
  if (inputs.config !== null && !isAbsolute(inputs.config)) throw new Error(`the config path must be absolute, got "${inputs.config}"`);
  const vars = {
    node: inputs.node,
    repo: inputs.repo,
    logs: inputs.logs,
    envFile: inputs.envFile,
    config: inputs.config ?? '',
    path: inputs.path,
    labelPrefix: inputs.labelPrefix,
    role: inputs.role,
    maxExperiments: String(inputs.night.maxExperiments),
    maxHours: String(inputs.night.maxHours),
    redisServer: inputs.redis?.server ?? '',
    redisConf: inputs.redis?.conf ?? '',
  };
  const render = (name: TemplateName) =>
    renderAgent(inputs.templates[name], {
      vars,
      dropEnv: inputs.config === null ? ['AUTORESEARCH_CONFIG'] : [],
      calendar: { Hour: inputs.night.hour, Minute: inputs.night.minute },
    });
  if (inputs.role === 'mbp') return [render('worker')];
  const agents = [render('planner'), render('worker'), render('server')];
  if (inputs.redis) {
    if (!isAbsolute(inputs.redis.server) || !isAbsolute(inputs.redis.conf)) {
      throw new Error('redis-server and its config must be absolute paths');
    }
    agents.push(render('redis'));
  }
  return agents;
}

/** The agent's short name: `com.autoresearch.worker` → `worker`. */
export function shortName(agent: Agent): string {
  return agent.Label.split('.').pop() ?? agent.Label;
}
