import { join } from 'node:path';
import type { CommandRunner } from '../runner.js';
import { ServiceCommandError, type ServiceManager, type ServiceStatus } from '../service-manager.js';
import { agentXml, type Agent } from './render.js';

/** launchctl's answers when a label is not loaded: `bootout` says ESRCH (3), `print` "Could not find service" (113). */
export const LAUNCHCTL_NOT_LOADED = new Set([3, 113]);

export interface LaunchdOptions {
  run: CommandRunner;
  /** ~/Library/LaunchAgents */
  dir: string;
  uid: number;
  labelPrefix: string;
}

/** Per-user agents in the GUI domain: they start at login and run while the user is logged in. */
export function launchdManager(options: LaunchdOptions): ServiceManager {
  const domain = `gui/${options.uid}`;
  const label = (name: string) => `${options.labelPrefix}.${name}`;
  const plistPath = (l: string) => join(options.dir, `${l}.plist`);
  const launchctl = async (args: string[], okCodes: ReadonlySet<number> = new Set([0])) => {
    const result = await options.run('launchctl', args);
    if (!okCodes.has(result.exitCode)) throw new ServiceCommandError(['launchctl', ...args], result);
    return result;
  };

  return {
    kind: 'launchd',
    dir: options.dir,
    files: (agents) => agents.map((a) => ({ path: plistPath(a.Label), content: agentXml(a) })),
    loadCommands: (agents) =>
      agents.flatMap((a) => [
        ['launchctl', 'bootout', `${domain}/${a.Label}`],
        ['launchctl', 'bootstrap', domain, plistPath(a.Label)],
      ]),
    async load(agents) {
      const messages: string[] = [];
      for (const agent of agents) {
        const printed = await launchctl(['print', `${domain}/${agent.Label}`], new Set([0, ...LAUNCHCTL_NOT_LOADED]));
        if (printed.exitCode === 0) {
          await launchctl(['bootout', `${domain}/${agent.Label}`], new Set([0, ...LAUNCHCTL_NOT_LOADED]));
        }
        await launchctl(['bootstrap', domain, plistPath(agent.Label)]);
        messages.push(`${printed.exitCode === 0 ? 'reloaded' : 'loaded'} ${agent.Label}`);
      }
      return messages;
    },
    async unload(names) {
      const messages: string[] = [];
      for (const name of names) {
        const result = await launchctl(['bootout', `${domain}/${label(name)}`], new Set([0, ...LAUNCHCTL_NOT_LOADED]));
        messages.push(result.exitCode === 0 ? `unloaded ${label(name)}` : `${label(name)} was not loaded`);
      }
      return { messages, files: names.map((n) => plistPath(label(n))) };
    },
    async status(names) {
      const out: ServiceStatus[] = [];
      for (const name of names) {
        const result = await launchctl(['print', `${domain}/${label(name)}`], new Set([0, ...LAUNCHCTL_NOT_LOADED]));
        out.push(result.exitCode === 0 ? parsePrint(name, result.stdout) : { name, state: 'not installed', pid: null, detail: '' });
      }
      return out;
    },
  };
}

/** The few lines of `launchctl print` that matter: `state = running`, `pid = 123`, `last exit code = 1`. */
export function parsePrint(name: string, text: string): ServiceStatus {
  const field = (key: string) => new RegExp(`^\\s*${key} = (.+)$`, 'm').exec(text)?.[1]?.trim();
  const pid = Number(field('pid'));
  const lastExit = field('last exit code');
  const running = field('state') === 'running';
  const failed = !running && lastExit !== undefined && lastExit !== '0' && lastExit !== '(never exited)';
  return {
    name,
    state: running ? 'running' : failed ? 'failed' : 'loaded',
    pid: Number.isInteger(pid) && pid > 0 ? pid : null,
    detail: lastExit !== undefined ? `last exit code ${lastExit}` : '',
  };
}
