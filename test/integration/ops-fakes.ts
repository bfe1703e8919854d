import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'plist';
import type { CommandRunner, RunResult } from '../../ops/runner.js';

/**
 * Stand-ins for launchctl, systemctl and brew, which cannot exist here. They record every argv and answer
 * as the real tools do, including their refusals: launchctl's `bootstrap` of a loaded label fails with 5
 * ("Input/output error"), `bootout` of a missing one with 3 (ESRCH), `print` of a missing one with 113.
 */
export class FakeServiceTools {
  readonly calls: string[][] = [];
  /** launchd: label → plist path, for loaded agents. */
  readonly loaded = new Map<string, string>();
  /** systemd: unit names seen at the last daemon-reload, and the enabled / active ones. */
  private known = new Set<string>();
  readonly enabled = new Set<string>();
  readonly active = new Set<string>();

  constructor(private readonly systemdDir: string, private readonly brewRedisRunning = false) {}

  readonly run: CommandRunner = async (file, args) => {
    this.calls.push([file, ...args]);
    if (file === 'launchctl') return this.launchctl([...args]);
    if (file === 'systemctl') return this.systemctl([...args]);
    if (file === 'brew') {
      return ok(JSON.stringify([{ name: 'redis', running: this.brewRedisRunning, status: this.brewRedisRunning ? 'started' : 'none' }]));
    }
    return { exitCode: 127, stdout: '', stderr: `${file}: command not found` };
  };

  private launchctl([verb, ...rest]: string[]): RunResult {
    if (verb === 'print') {
      const label = labelOf(rest[0] ?? '');
      if (!this.loaded.has(label)) return fail(113, `Bad request.\nCould not find service "${label}" in domain for user gui: 501`);
      return ok(`${rest[0]} = {\n\tactive count = 1\n\tpath = ${this.loaded.get(label)}\n\tstate = running\n\tpid = 4242\n\tlast exit code = 0\n}`);
    }
    if (verb === 'bootstrap') {
      const path = rest[1] ?? '';
      if (!/^gui\/\d+$/.test(rest[0] ?? '') || !existsSync(path)) return fail(5, 'Bootstrap failed: 5: Input/output error');
      const agent = parse(readFileSync(path, 'utf8')) as { Label?: string; ProgramArguments?: string[] };
      if (!agent.Label || !agent.ProgramArguments) return fail(5, 'Bootstrap failed: 5: Input/output error');
      if (this.loaded.has(agent.Label)) return fail(5, 'Bootstrap failed: 5: Input/output error');
      this.loaded.set(agent.Label, path);
      return ok('');
    }
    if (verb === 'bootout') {
      const label = labelOf(rest[0] ?? '');
      if (!this.loaded.delete(label)) return fail(3, 'Boot-out failed: 3: No such process');
      return ok('');
    }
    return fail(64, `Unrecognized subcommand: ${verb}`);
  }

  private systemctl(args: string[]): RunResult {
    if (args[0] !== '--user') return fail(1, 'Failed to connect to bus: No medium found');
    const [verb, ...rest] = args.slice(1);
    if (verb === 'daemon-reload') {
      this.known = new Set(existsSync(this.systemdDir) ? readdirSync(this.systemdDir) : []);
      return ok('');
    }
    if (verb === 'enable' || verb === 'restart') {
      const unit = rest[0] ?? '';
      if (!this.known.has(unit)) return fail(verb === 'enable' ? 1 : 5, `Failed to ${verb} unit: Unit file ${unit} does not exist.`);
      (verb === 'enable' ? this.enabled : this.active).add(unit);
      return ok('');
    }
    if (verb === 'disable') {
      const unit = rest.find((a) => !a.startsWith('--')) ?? '';
      if (!this.known.has(unit)) return fail(1, `Failed to disable unit: Unit file ${unit} does not exist.`);
      this.enabled.delete(unit);
      this.active.delete(unit);
      return ok('');
    }
    if (verb === 'show') {
      const unit = rest[0] ?? '';
      if (!this.known.has(unit)) return ok('LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\nResult=success\n');
      const active = this.active.has(unit);
      return ok(`LoadState=loaded\nActiveState=${active ? 'active' : 'inactive'}\nSubState=${active ? 'running' : 'dead'}\nMainPID=${active ? 4343 : 0}\nResult=success\n`);
    }
    return fail(1, `Unknown command verb ${verb}.`);
  }

  /** Files under the systemd folder, as daemon-reload would see them now. */
  unitFiles(): string[] {
    return existsSync(this.systemdDir) ? readdirSync(this.systemdDir).sort() : [];
  }

  unitText(name: string): string {
    return readFileSync(join(this.systemdDir, name), 'utf8');
  }
}

const labelOf = (target: string) => target.split('/').slice(2).join('/');
const ok = (stdout: string): RunResult => ({ exitCode: 0, stdout, stderr: '' });
const fail = (exitCode: number, stderr: string): RunResult => ({ exitCode, stdout: '', stderr });
