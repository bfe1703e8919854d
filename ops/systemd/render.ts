import type { Agent } from '../launchd/render.js';

/**
 * systemd user units derived from the same launchd templates, so macOS and Linux run the same commands:
 * ProgramArguments → ExecStart, KeepAlive → Restart=always, RunAtLoad → enabled at login,
 * StartCalendarInterval → a .timer, ExitTimeOut → TimeoutStopSec, the log paths → append: files.
 */
export interface SystemdUnits {
  /** `autoresearch-worker`, from the launchd label's last part. */
  name: string;
  service: string;
  timer: string | null;
}

function rejectLineBreaks(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`a unit file value cannot hold a line break: ${JSON.stringify(value)}`);
  return value;
}

/** `%` starts a specifier everywhere in a unit file. */
const escapeSpecifiers = (value: string) => rejectLineBreaks(value).replace(/%/g, '%%');

/**
 * A double-quoted value with C escapes and `%` doubled. ExecStart also expands `$VAR`, so there `$` is doubled
 * too; Environment= does not expand, so there it stays.
 */
export function quoteValue(value: string, where: 'exec' | 'environment'): string {
  const escaped = escapeSpecifiers(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return `"${where === 'exec' ? escaped.replace(/\$/g, '$$$$') : escaped}"`;
}

function plainPath(path: string): string {
  if (/\s/.test(path)) throw new Error(`systemd cannot take a path with spaces here: ${JSON.stringify(path)}`);
  return escapeSpecifiers(path);
}

export function renderUnits(agent: Agent, description: string): SystemdUnits {
  const name = `autoresearch-${agent.Label.split('.').pop()}`;
  const env = Object.entries(agent.EnvironmentVariables ?? {}).map(([k, v]) => `Environment=${quoteValue(`${k}=${v}`, 'environment')}`);
  const service = [
    '[Unit]',
    `Description=${escapeSpecifiers(description)}`,
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${plainPath(agent.WorkingDirectory)}`,
    `ExecStart=${agent.ProgramArguments.map((a) => quoteValue(a, 'exec')).join(' ')}`,
    ...env,
    `StandardOutput=append:${plainPath(agent.StandardOutPath)}`,
    `StandardError=append:${plainPath(agent.StandardErrorPath)}`,
    // launchd signals only the main process; the worker stops its own children (training, model server).
    'KillMode=mixed',
    ...(agent.ExitTimeOut ? [`TimeoutStopSec=${agent.ExitTimeOut}`] : []),
    ...(agent.KeepAlive ? ['Restart=always', `RestartSec=${agent.ThrottleInterval ?? 10}`] : ['Restart=no']),
    ...(agent.RunAtLoad ? ['', '[Install]', 'WantedBy=default.target'] : []),
    '',
  ].join('\n');
  const at = agent.StartCalendarInterval;
  const timer = at
    ? [
        '[Unit]',
        `Description=${escapeSpecifiers(description)}, every night`,
        '',
        '[Timer]',
        `OnCalendar=*-*-* ${pad(at.Hour)}:${pad(at.Minute)}:00`,
        // A missed night is not run at boot in the morning: it would take the GPU from the day's work.
        'Persistent=false',
        `Unit=${name}.service`,
        '',
        '[Install]',
        'WantedBy=timers.target',
        '',
      ].join('\n')
    : null;
  return { name, service, timer };
}

const pad = (n: number) => String(n).padStart(2, '0');

export type UnitFile = Record<string, Record<string, string[]>>;

/** Reads a unit file back: section → key → values in order (keys such as Environment repeat). */
export function parseUnitFile(text: string): UnitFile {
  const out: UnitFile = {};
  let section: Record<string, string[]> | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = out[header[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq <= 0) throw new Error(`unit file line ${i + 1} is neither a [Section] nor Key=Value: ${line}`);
    (section[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

/** Splits an ExecStart or Environment value the way systemd reads the quoting `quoteValue` produces. */
export function splitQuoted(value: string, where: 'exec' | 'environment'): string[] {
  const args: string[] = [];
  for (const m of value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const text = (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!).replace(/%%/g, '%');
    args.push(where === 'exec' ? text.replace(/\$\$/g, '$') : text);
  }
  return args;
}
