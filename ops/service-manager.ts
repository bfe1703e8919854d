import type { Agent } from './launchd/render.js';
import type { RunResult } from './runner.js';

export interface ServiceFile {
  path: string;
  content: string;
}

export interface ServiceStatus {
  name: string;
  /** `loaded` and idle (a timer waiting for 02:00), `running`, or `not installed`. */
  state: 'running' | 'loaded' | 'not installed' | 'failed';
  pid: number | null;
  detail: string;
}

/** launchd on macOS, systemd user units on Linux: the same agents, installed the platform's way. */
export interface ServiceManager {
  readonly kind: 'launchd' | 'systemd';
  /** ~/Library/LaunchAgents or ~/.config/systemd/user */
  readonly dir: string;
  files(agents: readonly Agent[]): ServiceFile[];
  /** The argv the installer would run to (re)load these agents, for --dry-run. */
  loadCommands(agents: readonly Agent[]): string[][];
  /** (Re)loads agents whose files are written: an agent already loaded is unloaded first, so edits apply. */
  load(agents: readonly Agent[]): Promise<string[]>;
  /** Unloads by short name (planner, worker, ...); a name that is not loaded is fine. Returns the files to delete. */
  unload(names: readonly string[]): Promise<{ messages: string[]; files: string[] }>;
  status(names: readonly string[]): Promise<ServiceStatus[]>;
}

export class ServiceCommandError extends Error {
  override readonly name = 'ServiceCommandError';
  constructor(argv: readonly string[], result: RunResult) {
    super(`\`${argv.join(' ')}\` failed with exit code ${result.exitCode}: ${(result.stderr || result.stdout).trim() || 'no output'}`);
  }
}
