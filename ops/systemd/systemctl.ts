import { join } from 'node:path';
import type { Agent } from '../launchd/render.js';
import type { CommandRunner } from '../runner.js';
import { ServiceCommandError, type ServiceManager, type ServiceStatus } from '../service-manager.js';
import { renderUnits } from './render.js';

export interface SystemdOptions {
  run: CommandRunner;
  /** ~/.config/systemd/user */
  dir: string;
}

const unitName = (name: string) => `autoresearch-${name}`;

/** What `enable --now` targets: the timer of a scheduled agent, the service of the others started at login. */
function startUnit(agent: Agent): string | null {
  const name = unitName(agent.Label.split('.').pop() ?? '');
  if (agent.StartCalendarInterval) return `${name}.timer`;
  return agent.RunAtLoad ? `${name}.service` : null;
}

/**
 * systemd user units. They run while the user is logged in; `loginctl enable-linger <user>` keeps them running
 * without a session, which a headless coordinator needs (docs/operations.md).
 */
export function systemdManager(options: SystemdOptions): ServiceManager {
  const systemctl = async (args: string[], okCodes: ReadonlySet<number> = new Set([0])) => {
    const result = await options.run('systemctl', ['--user', ...args]);
    if (!okCodes.has(result.exitCode)) throw new ServiceCommandError(['systemctl', '--user', ...args], result);
    return result;
  };
  return {
    kind: 'systemd',
    dir: options.dir,
    files: (agents) =>
      agents.flatMap((a) => {
        const units = renderUnits(a, `council-autoresearch ${a.Label.split('.').pop()}`);
        return [
          { path: join(options.dir, `${units.name}.service`), content: units.service },
          ...(units.timer ? [{ path: join(options.dir, `${units.name}.timer`), content: units.timer }] : []),
        ];
      }),
    loadCommands: (agents) => [
      ['systemctl', '--user', 'daemon-reload'],
      ...agents.flatMap((a) => {
        const unit = startUnit(a);
        return unit ? [['systemctl', '--user', 'enable', unit], ['systemctl', '--user', 'restart', unit]] : [];
      }),
    ],
    async load(agents) {
      await systemctl(['daemon-reload']);
      const messages: string[] = [];
      for (const agent of agents) {
        const unit = startUnit(agent);
        if (!unit) continue;
        await systemctl(['enable', unit]);
        // restart, not start: a reinstall must pick up the new unit file in a running service.
        await systemctl(['restart', unit]);
        messages.push(`enabled and started ${unit}`);
      }
      return messages;
    },
    async unload(names) {
      const messages: string[] = [];
      const files: string[] = [];
      for (const name of names) {
        for (const suffix of ['timer', 'service']) {
          const unit = `${unitName(name)}.${suffix}`;
          // systemctl exits 1 (or 5 on older versions) for a unit it does not know: nothing to unload.
          const result = await systemctl(['disable', '--now', unit], new Set([0, 1, 5]));
          if (result.exitCode === 0) messages.push(`stopped and disabled ${unit}`);
          files.push(join(options.dir, unit));
        }
      }
      await systemctl(['daemon-reload']);
      return { messages, files };
    },
    async status(names) {
      const out: ServiceStatus[] = [];
      for (const name of names) {
        const result = await systemctl(
          ['show', `${unitName(name)}.service`, '--property=LoadState,ActiveState,SubState,MainPID,Result'],
          new Set([0, 1]),
        );
        out.push(parseShow(name, result.stdout));
      }
      return out;
    },
  };
}

export function parseShow(name: string, text: string): ServiceStatus {
  const props = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  if (props.LoadState !== 'loaded') return { name, state: 'not installed', pid: null, detail: '' };
  const pid = Number(props.MainPID);
  const state = props.ActiveState === 'active' ? 'running' : props.ActiveState === 'failed' ? 'failed' : 'loaded';
  return { name, state, pid: pid > 0 ? pid : null, detail: `${props.ActiveState ?? '?'}/${props.SubState ?? '?'} (${props.Result ?? '?'})` };
}
