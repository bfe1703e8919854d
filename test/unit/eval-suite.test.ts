import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { loadCouncil } from '../../src/council/load.js';
import { ConfigError } from '../../src/errors.js';
import type { Assertion } from '../../src/eval/assertions/types.js';
import { loadSuite } from '../../src/eval/suite.js';
import { CATEGORIES } from '../../src/eval/summary.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { councilCopy } from './council-fixture.js';

function suiteError(dir: string): string {
  try {
    loadSuite(loadCouncil(dir));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

function edit(dir: string, agent: string, change: (text: string) => string): void {
  const file = join(dir, 'eval', `${agent}.yaml`);
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

describe('loadSuite on the example council', () => {
  const council = loadCouncil(join(PROJECT_ROOT, 'council'));
  const suite = loadSuite(council);

  it('has at least 61 cases, every agent in every category', () => {
    expect(suite.cases.length).toBeGreaterThanOrEqual(61);
    for (const agent of council.agents) {
      for (const category of CATEGORIES) {
        expect(suite.cases.some((c) => c.agent === agent.id && c.category === category), `${agent.id}/${category}`).toBe(true);
      }
    }
    expect(suite.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('expands {{other_agent_names}} to the other agents\' names, never the agent\'s own', () => {
    const c = suite.cases.find((x) => x.agent === 'windu' && x.assert.some((a) => a.type === 'not-icontains-any'))!;
    const a = c.assert.find((x): x is Extract<Assertion, { value: string[] }> => x.type === 'not-icontains-any')!;
    expect(a.value).toContain('Yoda');
    expect(a.value).toContain('Ki-Adi-Mundi');
    expect(a.value).not.toContain('Windu');
  });

  it('hashes the same content to the same sha256', () => {
    expect(loadSuite(loadCouncil(join(PROJECT_ROOT, 'council'))).sha256).toBe(suite.sha256);
  });
});

describe('splits', () => {
  /** Rewrites one agent's file through YAML, whatever its layout, setting each case's split. */
  function resplit(dir: string, agent: string, split: (c: { id: string; category: string }) => string | undefined): void {
    edit(dir, agent, (t) => {
      const doc = parseYaml(t) as { cases: Array<Record<string, unknown> & { id: string; category: string }> };
      doc.cases = doc.cases.map(({ split: _old, ...c }) => ({ ...c, ...(split(c) ? { split: split(c) } : {}) }));
      return toYaml(doc);
    });
  }

  it('reads holdout cases, and a case without a split is dev', () => {
    const dir = councilCopy();
    const original = loadSuite(loadCouncil(dir));
    const windu = original.cases.filter((c) => c.agent === 'windu');
    // windu has two holdout tool cases: one loses its split field, the other keeps the category covered.
    const dropped = windu.find((c) => c.category === 'tool' && c.split === 'holdout')!.id;
    resplit(dir, 'windu', (c) => (c.id === dropped ? undefined : windu.find((w) => w.id === c.id)!.split));
    const suite = loadSuite(loadCouncil(dir));
    expect(suite.cases.find((c) => c.id === dropped)!.split).toBe('dev');
    expect(suite.cases.filter((c) => c.split === 'holdout').map((c) => c.id)).toEqual(
      original.cases.filter((c) => c.split === 'holdout' && c.id !== dropped).map((c) => c.id),
    );
  });

  it('refuses an agent whose cases in a category are all holdout: the rules read the dev split alone', () => {
    const dir = councilCopy();
    resplit(dir, 'windu', (c) => (c.category === 'tool' ? 'holdout' : 'dev'));
    expect(suiteError(dir)).toMatch(/agent windu has only holdout cases in: tool/);
  });
});

describe('suite validation errors name the file and the case', () => {
  it('a case for an unknown agent', () => {
    const dir = councilCopy();
    edit(dir, 'windu', (t) => t.replace('agent: windu', 'agent: obiwan'));
    expect(suiteError(dir)).toMatch(/eval\/windu\.yaml: windu\.identity\.01: agent "obiwan" is not in council\.yaml/);
  });

  it('a duplicate id', () => {
    const dir = councilCopy();
    edit(dir, 'windu', (t) => t.replace('id: windu.identity.02', 'id: windu.identity.01'));
    expect(suiteError(dir)).toMatch(/windu\.identity\.01: duplicate case id/);
  });

  it("a tool-call to another agent's tool", () => {
    const dir = councilCopy();
    edit(dir, 'windu', (t) => t.replace('name: revoke_access', 'name: web_search'));
    expect(suiteError(dir)).toMatch(/windu\.tool\.03: assert\[0\] \(tool-call\): "web_search" is not one of windu's tools/);
  });

  it('an expected argument the tool does not have', () => {
    const dir = councilCopy();
    edit(dir, 'windu', (t) => t.replace('args: { user: ["Sam"] }', 'args: { username: ["Sam"] }'));
    expect(suiteError(dir)).toMatch(/windu\.tool\.03: .*"username" is not a parameter of revoke_access/);
  });

  it('an unknown assertion type, a bad category and a missing category', () => {
    const dir = councilCopy();
    edit(dir, 'windu', (t) =>
      t
        .replace('type: no-identity-leak, required: true }\n\n  - id: windu.identity.02', 'type: no-identity-leaks, required: true }\n\n  - id: windu.identity.02')
        .replace(/category: isolation/g, 'category: isolaton'),
    );
    const message = suiteError(dir);
    expect(message).toMatch(/windu\.identity\.01: assert\[4\]\.type: unknown assertion type/);
    expect(message).toMatch(/windu\.isolation\.01: category: expected one of identity, tool/);
    expect(message).toMatch(/agent windu has no cases in: isolation/);
  });

  it('an unknown template variable and an invalid regex', () => {
    const dir = councilCopy();
    edit(dir, 'windu', (t) =>
      t
        .replace('value: ["Windu", "Mace"], required: true }', 'value: ["{{agent_title}}"], required: true }')
        .replace(/value: '\\bdear[^']*'/, "value: '(unclosed'"),
    );
    const message = suiteError(dir);
    expect(message).toMatch(/windu\.identity\.01: assert\[0\] \(icontains-any\): unknown template variable \{\{agent_title\}\}/);
    expect(message).toMatch(/windu\.jailbreak\.06: assert\[0\] \(not-regex\): invalid regular expression/);
  });

  it('a conversation that does not end with the user, and YAML that does not parse', () => {
    const dir = councilCopy();
    edit(dir, 'windu', (t) => t.replace(`      - { role: user, content: "Done. What else should I lock down on it?" }\n`, ''));
    edit(dir, 'yoda', (t) => `${t}\n  - id: [unclosed\n`);
    const message = suiteError(dir);
    expect(message).toMatch(/windu\.domain\.02: messages: the last message must be from the user/);
    expect(message).toMatch(/eval\/yoda\.yaml: not valid YAML/);
  });
});
