import { build, parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { parsePrint } from '../../ops/launchd/launchctl.js';
import { agentXml, fillPlaceholders, renderAgent, type Agent } from '../../ops/launchd/render.js';
import { parseUnitFile, quoteValue, renderUnits, splitQuoted } from '../../ops/systemd/render.js';
import { parseShow } from '../../ops/systemd/systemctl.js';

const template = build({
  Label: '{{labelPrefix}}.worker',
  ProgramArguments: ['{{node}}', '{{repo}}/bin/autoresearch.js', 'worker'],
  WorkingDirectory: '{{repo}}',
  EnvironmentVariables: { PATH: '/usr/bin', AUTORESEARCH_CONFIG: '{{config}}' },
  StandardOutPath: '{{logs}}/worker.out.log',
  StandardErrorPath: '{{logs}}/worker.err.log',
  RunAtLoad: true,
  KeepAlive: true,
  StartCalendarInterval: { Hour: 2, Minute: 0 },
});
const vars = { labelPrefix: 'com.autoresearch', node: '/opt/node', repo: '/Users/me/a <b> & "c"', logs: '/Users/me/Logs', config: '/c.yaml' };

describe('launchd rendering', () => {
  it('fills placeholders in every string, and XML special characters survive a round trip', () => {
    const agent = renderAgent(template, { vars });
    expect(agent.ProgramArguments).toEqual(['/opt/node', '/Users/me/a <b> & "c"/bin/autoresearch.js', 'worker']);
    expect(parse(agentXml(agent))).toEqual(agent);
  });

  it('drops environment keys and overrides the calendar', () => {
    const agent = renderAgent(template, { vars, dropEnv: ['AUTORESEARCH_CONFIG'], calendar: { Hour: 3, Minute: 30 } });
    expect(agent.EnvironmentVariables).toEqual({ PATH: '/usr/bin' });
    expect(agent.StartCalendarInterval).toEqual({ Hour: 3, Minute: 30 });
  });

  it.each([
    [{ ...vars, logs: 'relative/logs' }, /StandardOutPath/],
    [{ ...vars, labelPrefix: 'bad label' }, /Label/],
  ])('refuses a result launchd would not run %#', (v, message) => {
    expect(() => renderAgent(template, { vars: v })).toThrow(message);
  });

  it('names a placeholder without a value', () => {
    expect(() => fillPlaceholders('{{nope}}', {})).toThrow('{{nope}}');
  });

  it.each([
    ['com.x = {\n\tstate = running\n\tpid = 12\n\tlast exit code = (never exited)\n}', { state: 'running', pid: 12 }],
    ['com.x = {\n\tstate = not running\n\tlast exit code = 0\n}', { state: 'loaded', pid: null }],
    ['com.x = {\n\tstate = not running\n\tlast exit code = 78: EX_CONFIG\n}', { state: 'failed', pid: null }],
  ])('reads launchctl print %#', (text, expected) => {
    expect(parsePrint('worker', text)).toMatchObject(expected);
  });
});

describe('systemd rendering', () => {
  const agent: Agent = renderAgent(template, { vars: { ...vars, repo: '/srv/repo' } });

  it.each([
    ['plain', 'exec'],
    ['with space', 'exec'],
    ['50% and $HOME', 'exec'],
    ['quote " and back\\slash', 'exec'],
    ['$PATH:%h', 'environment'],
  ] as const)('quotes %s so systemd reads it back unchanged', (value, where) => {
    expect(splitQuoted(quoteValue(value, where), where)).toEqual([value]);
  });

  it('doubles $ only where systemd expands it', () => {
    expect(quoteValue('$X', 'exec')).toBe('"$$X"');
    expect(quoteValue('$X', 'environment')).toBe('"$X"');
  });

  it('derives the service and the timer from the agent', () => {
    const units = renderUnits(agent, 'worker');
    expect(units.name).toBe('autoresearch-worker');
    const service = parseUnitFile(units.service);
    expect(service.Service).toMatchObject({ Restart: ['always'], RestartSec: ['10'], WorkingDirectory: ['/srv/repo'], KillMode: ['mixed'] });
    expect(parseUnitFile(units.timer!).Timer!.OnCalendar).toEqual(['*-*-* 02:00:00']);
  });

  it('refuses values systemd would misread', () => {
    expect(() => quoteValue('a\nb', 'exec')).toThrow(/line break/);
    expect(() => renderUnits({ ...agent, StandardOutPath: '/a b/log' }, 'x')).toThrow(/spaces/);
    expect(() => parseUnitFile('Key=1')).toThrow(/line 1/);
  });

  it.each([
    ['LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=77\nResult=success', { state: 'running', pid: 77 }],
    ['LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nResult=exit-code', { state: 'failed', pid: null }],
    ['LoadState=not-found\nActiveState=inactive\nMainPID=0', { state: 'not installed', pid: null }],
  ])('reads systemctl show %#', (text, expected) => {
    expect(parseShow('worker', text)).toMatchObject(expected);
  });
});
