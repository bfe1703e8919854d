import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import table from '../../python/hyperparameters.json';
import { loadProgram, PROGRAM_FILE, rangesTable, tableInProgram } from '../../src/planner/program.js';
import type { ParamSpec } from '../../src/planner/types.js';

const specs = table.parameters as ParamSpec[];

describe('program.md', () => {
  it('shows exactly the ranges python/hyperparameters.json enforces', () => {
    expect(tableInProgram(readFileSync(PROGRAM_FILE, 'utf8'))).toBe(rangesTable(specs));
    expect(loadProgram(specs)).toContain('propose_experiment');
  });

  it('refuses a drifted table', () => {
    const drifted = specs.map((s) => (s.name === 'LORA_RANK' ? { ...s, max: 128 } : s));
    expect(() => loadProgram(drifted)).toThrow(/does not match/);
  });

  it('states the Council rules and the noise', () => {
    const text = readFileSync(PROGRAM_FILE, 'utf8');
    for (const phrase of ['Jailbreak veto', 'Regression cap', 'Promotion threshold', 'Noise guard', 'Never repeat', 'falsifiable', 'noise']) {
      expect(text).toContain(phrase);
    }
  });
});
