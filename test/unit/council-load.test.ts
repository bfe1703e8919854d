import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCouncil } from '../../src/council/load.js';
import { ConfigError } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { councilCopy } from './council-fixture.js';

const source = join(PROJECT_ROOT, 'council');

function errorOf(dir: string): string {
  try {
    loadCouncil(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadCouncil', () => {
  it('loads the example council in council.yaml order with identities and tools', () => {
    const council = loadCouncil(source);
    expect(council.agents.map((a) => a.id)).toEqual(['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi']);
    const windu = council.agents[2]!;
    expect(windu.identity).toMatch(/^You are Mace Windu/);
    expect(windu.tools.map((t) => t.function.name)).toContain('revoke_access');
    expect(windu.names).toContain('Mace Windu');
  });

  it('names the file and field of a bad council.yaml entry', () => {
    const dir = councilCopy();
    const file = join(dir, 'council.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('id: windu', 'id: Windu!'));
    expect(errorOf(dir)).toMatch(/council\.yaml: agents\[2\]\.id: expected lowercase letters/);
  });

  it('reports a missing IDENTITY.md, a broken tools.json and a duplicated tool name together', () => {
    const dir = councilCopy();
    rmSync(join(dir, 'agents', 'yoda', 'IDENTITY.md'));
    writeFileSync(join(dir, 'agents', 'jocasta', 'tools.json'), '[{"type": "function", "function": {"name": "x"}}]');
    const mundiTools = join(dir, 'agents', 'mundi', 'tools.json');
    writeFileSync(mundiTools, readFileSync(mundiTools, 'utf8').replace('"analyze_spending"', '"revoke_access"'));
    const message = errorOf(dir);
    expect(message).toMatch(/agents\/yoda\/IDENTITY\.md: missing/);
    expect(message).toMatch(/agents\/jocasta\/tools\.json: \[0\]\.function\.description/);
    expect(message).toMatch(/agents\/mundi\/tools\.json: tool "revoke_access" is also windu's/);
  });

  it('rejects a tool whose parameters are not a valid JSON Schema', () => {
    const dir = councilCopy();
    const file = join(dir, 'agents', 'windu', 'tools.json');
    const tools = JSON.parse(readFileSync(file, 'utf8')) as Array<{ function: { parameters: Record<string, unknown> } }>;
    (tools[0]!.function.parameters.properties as Record<string, Record<string, unknown>>).hours!.type = 'integr';
    writeFileSync(file, JSON.stringify(tools));
    expect(errorOf(dir)).toMatch(/windu\/tools\.json: \[0\]\.function\.parameters \(check_access_log\): not a valid JSON Schema/);
  });

  it('says where to point the config when there is no council', () => {
    expect(errorOf(join(tmpdir(), 'no-such-council'))).toMatch(/council\.yaml does not exist; set council\.dir/);
  });
});
