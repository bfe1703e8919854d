import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/project.js';

function errorOf(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(yaml, { file: '/x/autoresearch.config.yaml', baseDir: '/x', env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config parsing', () => {
  it('gives the defaults for an empty file, with paths resolved against its folder', () => {
    const config = parseConfig('', { file: '/x/autoresearch.config.yaml', baseDir: '/x', env: {} });
    expect(config.council.thresholds).toEqual({ jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 });
    expect(config.council.noiseGuard).toEqual({ enabled: true, z: 1.645, trainingSd: 0 });
    expect(config.paths.repo).toBe('/x');
    expect(config.paths.results).toBe('/x/results.tsv');
    expect(config.paths.state).toBe('/x/.autoresearch');
    expect(config.council.dir).toBe('/x/council');
    expect(config.run.maxExperiments).toBe(6);
    expect(config.run.maxHours).toBe(3);
  });

  it('names the key, the value, what is allowed and the line for a wrong type', () => {
    const message = errorOf('council:\n  thresholds:\n    jailbreakVeto: high\n');
    expect(message).toContain(
      'council.thresholds.jailbreakVeto: expected a number between 0 and 1, got "high" (/x/autoresearch.config.yaml:3)',
    );
  });

  it('refuses a number out of range', () => {
    expect(errorOf('eval:\n  concurrency: 0\n')).toContain('eval.concurrency: expected a whole number between 1 and 64, got 0');
  });

  it('refuses unknown keys, suggesting the allowed ones', () => {
    const message = errorOf('council:\n  thresholds:\n    promtion: 0.05\n');
    expect(message).toContain('council.thresholds.promtion: unknown key (allowed here: jailbreakVeto, regressionCap, promotion)');
    expect(message).toContain(':3)');
  });

  it('refuses an unknown section', () => {
    expect(errorOf('plannr:\n  kind: offline\n')).toMatch(/^.*plannr: unknown key \(allowed here: paths, council, redis/m);
  });

  it('refuses a shell string where a command vector is required', () => {
    const message = errorOf(
      'idleServer:\n  enabled: true\n  stop: "launchctl bootout gui/501/x"\n  start: [launchctl, kickstart, x]\n  healthUrl: http://127.0.0.1:8080/health\n',
    );
    expect(message).toContain('idleServer.stop: expected a command as a list of strings');
    expect(message).toContain(':3)');
  });

  it('requires the idle server commands once enabled', () => {
    expect(errorOf('idleServer:\n  enabled: true\n')).toContain('idleServer.stop: required when idleServer.enabled is true');
  });

  it('reports broken YAML with its line', () => {
    expect(errorOf('redis:\n  url: [redis://x\n')).toMatch(/not valid YAML[\s\S]*autoresearch\.config\.yaml:\d/);
  });

  it('refuses duplicate keys, which YAML would otherwise let the last one win', () => {
    expect(errorOf('run:\n  mode: proxy\nrun:\n  mode: full\n')).toContain('Map keys must be unique');
  });

  it('refuses a bad enum value, listing the choices', () => {
    expect(errorOf('run:\n  mode: fast\n')).toContain('run.mode: expected one of "auto", "full", "proxy", got "fast"');
  });

  it('refuses a file that is not a map', () => {
    expect(errorOf('- a\n- b\n')).toContain('must hold a map of sections');
  });

  it('lets the environment override Redis and carry secrets, never the file', () => {
    const config = parseConfig('redis:\n  url: redis://127.0.0.1:6390\n', {
      file: null,
      baseDir: '/x',
      env: { REDIS_URL: 'redis://mini.local:6379', ANTHROPIC_API_KEY: 'sk-test' },
    });
    expect(config.redis.url).toBe('redis://mini.local:6379');
    expect(config.redis.embedded).toBe(false);
    expect(config.secrets.anthropicApiKey).toBe('sk-test');
    expect(errorOf('planner:\n  apiKey: sk-x\n')).toContain('planner.apiKey: unknown key');
  });

  it('documents the defaults: the committed example parses to exactly what an empty file gives', () => {
    const example = readFileSync(`${PROJECT_ROOT}/autoresearch.config.example.yaml`, 'utf8');
    const fromExample = parseConfig(example, { file: '/x/autoresearch.config.yaml', baseDir: '/x', env: {} });
    const fromEmpty = parseConfig('', { file: '/x/autoresearch.config.yaml', baseDir: '/x', env: {} });
    const { fleet: exampleFleet, ...exampleRest } = fromExample;
    const { fleet: emptyFleet, ...emptyRest } = fromEmpty;
    expect(exampleRest).toEqual(emptyRest);
    expect({ ...exampleFleet, machine: '' }).toEqual({ ...emptyFleet, machine: '' });
  });
});
