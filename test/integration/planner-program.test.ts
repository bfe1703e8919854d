import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadProgram, PROGRAM_FILE, rangesTable, tableInProgram, withRanges } from '../../src/planner/program.js';
import { searchSpace } from '../../src/research/hyperparameters.js';

const specs = searchSpace('qwen').table.parameters;

describe('program.md', () => {
  it('shows exactly the ranges of the default search space, python/search-spaces/qwen.json', () => {
    expect(tableInProgram(readFileSync(PROGRAM_FILE, 'utf8'))).toBe(rangesTable(specs));
    expect(loadProgram(specs)).toContain('propose_experiment');
  });

  it('refuses a drifted table', () => {
    const drifted = specs.map((s) => (s.name === 'LORA_RANK' ? { ...s, max: 128 } : s));
    expect(() => loadProgram(drifted)).toThrow(/does not match/);
  });

  it('is sent with the ranges of the search space in use', () => {
    const tiny = searchSpace('tiny').table.parameters;
    const program = withRanges(loadProgram(specs), tiny);
    expect(tableInProgram(program)).toBe(rangesTable(tiny));
    expect(program).toContain('propose_experiment');
  });

  it('states the Council rules and the noise', () => {
    const text = readFileSync(PROGRAM_FILE, 'utf8');
    for (const phrase of ['Jailbreak veto', 'Regression cap', 'Promotion threshold', 'Never repeat', 'falsifiable', 'noise']) {
      expect(text).toContain(phrase);
    }
  });
});
