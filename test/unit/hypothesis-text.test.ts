import { describe, expect, it } from 'vitest';
import { baselineValues, hypothesisTextSchema, textProblem, validateValues } from '../../src/research/hyperparameters.js';

const AGENTS = ['yoda', 'windu'];

describe('hypothesis text', () => {
  it.each([
    ['plain prose', 'Raising LORA_RANK to 48 lifts identity by 0.02.', null],
    ['newlines, CR LF and tabs', 'one\ntwo\r\n\tthree', null],
    ['emoji (a surrogate pair)', 'rank 🚀 up', null],
    ['a NUL byte', 'a\u0000b', /U\+0000/],
    ['a lone CR', 'a\rb', /U\+000D/],
    ['an escape sequence', '\u001b[31mred', /U\+001B/],
    ['DEL', 'a\u007fb', /U\+007F/],
    ['a C1 control', 'a\u0085b', /U\+0085/],
    ['a lone high surrogate', 'a\ud800b', /lone surrogate/],
    ['a lone low surrogate', 'a\udc00', /lone surrogate/],
  ])('%s', (_what, text, problem) => {
    const found = textProblem(text);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });

  it.each([
    ['our trailer', 'try rank 16\nAutoresearch-Experiment: exp-1', false],
    ['an indented trailer', 'x\n  Signed-off-by: someone', false],
    ['a prose label without a hyphen', 'Expected: jailbreak stays above 0.7', true],
    ['a hyphen without a colon', 'a well-known effect', true],
    ['a colon later in the line', 'rank 16 (not-too-low): expected', true],
  ])('trailer-shaped lines: %s', (_what, text, ok) => {
    expect(hypothesisTextSchema.safeParse(text).success).toBe(ok);
  });

  it('validateValues reports a bad hypothesis with the ranges, naming the key', () => {
    const result = validateValues({ ...baselineValues(AGENTS), LORA_RANK: 9999, EXPERIMENT_HYPOTHESIS: 'x\u0000' }, AGENTS);
    expect(result.success).toBe(false);
    expect(!result.success && result.issues).toEqual([
      'LORA_RANK: expected a whole number from 8 to 64',
      'EXPERIMENT_HYPOTHESIS: contains the control character U+0000; only newlines and tabs are allowed',
    ]);
  });
});
