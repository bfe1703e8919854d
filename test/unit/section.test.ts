import { describe, expect, it } from 'vitest';
import { baselineValues, validateValues, type HyperParameters } from '../../src/research/hyperparameters.js';
import { pythonFloat, pythonString } from '../../src/research/python-literal.js';
import { BEGIN_MARKER, END_MARKER, readSection, SectionError, writeSection } from '../../src/research/section.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];

/** Hypotheses chosen to break a naive writer: quotes, triple quotes, escapes, line breaks, comments, unicode. */
const HOSTILE_HYPOTHESES = [
  `She said "hi" and 'bye'`,
  '"""triple double""" and \'\'\'triple single\'\'\'',
  'ends with a backslash \\',
  'a \\n that is not a newline, \\x41, \\u0041, \\N{BULLET}',
  'line one\nline two\r\nline three\rend',
  '# not a comment\n# ==== AGENT MODIFIABLE: END ====\nITERS = 9999',
  'unicode: naïve café — 中文 ∑ ∞',
  'emoji 🚀🔥👩‍🔬 and flags 🇫🇷',
  'control \x00 \x07 \x1b[31m \x7f \x85 \u2028 \u2029 \f \v',
  'lone surrogate \ud800 here',
  '"',
  '\\',
  '',
  `"; import os; os.system("rm -rf /"); x = "`,
  'x'.repeat(2000),
];

const FILE = [
  '"""train.py header."""',
  'import hparams',
  '',
  BEGIN_MARKER,
  'NUM_LAYERS = 32',
  'LORA_RANK = 32',
  'LORA_ALPHA = 64',
  'DROPOUT = 0.05',
  'LEARNING_RATE = 5e-06',
  'ITERS = 120',
  'GRAD_ACCUM = 4',
  'DATA_MIX_RATIO = 0.25',
  'PER_AGENT_WEIGHTS = {"yoda": 1.0, "jocasta": 1.0, "windu": 1.0, "quigon": 1.0, "cilghal": 1.0, "mundi": 1.0}',
  'EXPERIMENT_HYPOTHESIS = "Baseline: the seed\'s default hyperparameters."',
  END_MARKER,
  '',
  'def main():',
  '    return 0  # the END marker is above',
  '',
].join('\n');

function values(over: Partial<HyperParameters> = {}): HyperParameters {
  return { ...baselineValues(AGENTS), ...over };
}

describe('readSection', () => {
  it('reads the baseline section', () => {
    expect(readSection(FILE, AGENTS)).toEqual(values());
  });

  it.each([
    ['markers missing', FILE.replace(BEGIN_MARKER, '# begin'), /BEGIN.*missing/],
    ['begin repeated', FILE.replace(END_MARKER, `${BEGIN_MARKER}\n${END_MARKER}`), /repeated 2 times/],
    ['end before begin', FILE.replace(BEGIN_MARKER, 'X').replace(END_MARKER, BEGIN_MARKER).replace('X', END_MARKER), /END marker comes before/],
    ['missing parameter', FILE.replace('ITERS = 120\n', ''), /^ITERS: missing/],
    ['unknown name', FILE.replace('ITERS = 120', 'ITERS = 120\nEPOCHS = 3'), /^EPOCHS: not a tunable parameter/],
    ['float for an int', FILE.replace('ITERS = 120', 'ITERS = 120.0'), /^ITERS: expected a whole number/],
    ['bool for an int', FILE.replace('ITERS = 120', 'ITERS = True'), /^ITERS: expected a whole number, got True/],
    ['out of range', FILE.replace('LORA_RANK = 32', 'LORA_RANK = 65'), /LORA_RANK: expected a whole number from 8 to 64/],
    ['expression', FILE.replace('ITERS = 120', 'ITERS = 100 + 20'), /^ITERS: the value must be a Python literal/],
    ['call', FILE.replace('ITERS = 120', 'ITERS = __import__("os").getpid()'), /^ITERS: the value must be a Python literal/],
    ['assigned twice', FILE.replace('ITERS = 120', 'ITERS = 120\nITERS = 121'), /^ITERS: assigned more than once/],
    ['not an assignment', FILE.replace('ITERS = 120', 'ITERS = 120\nprint(1)'), /only `NAME = <literal>`/],
    ['weight out of range', FILE.replace('"mundi": 1.0', '"mundi": 2.5'), /PER_AGENT_WEIGHTS\.mundi: expected a number from 0.5 to 2/],
    ['weights missing an agent', FILE.replace(', "mundi": 1.0', ''), /PER_AGENT_WEIGHTS/],
    ['hypothesis not a string', FILE.replace(/EXPERIMENT_HYPOTHESIS = .*/, 'EXPERIMENT_HYPOTHESIS = 42'), /^EXPERIMENT_HYPOTHESIS: expected a string/],
    ['raw string', FILE.replace(/EXPERIMENT_HYPOTHESIS = .*/, 'EXPERIMENT_HYPOTHESIS = r"x"'), /plain string literal/],
    ['unterminated string', FILE.replace(/EXPERIMENT_HYPOTHESIS = .*/, 'EXPERIMENT_HYPOTHESIS = "x'), /unterminated/],
  ])('refuses a section with %s', (_label, source, message) => {
    expect(() => readSection(source, AGENTS)).toThrow(SectionError);
    expect(() => readSection(source, AGENTS)).toThrow(message);
  });

  it('accepts comments, ints for floats, multi-line dicts and triple-quoted strings', () => {
    const source = FILE.replace('DROPOUT = 0.05', 'DROPOUT = 0  # off\n# a comment line\n')
      .replace(/PER_AGENT_WEIGHTS = .*/, 'PER_AGENT_WEIGHTS = {\n  "yoda": 2, # more\n  "jocasta": 1.0, "windu": 1.0, "quigon": 1.0, "cilghal": 1.0, "mundi": 0.5,\n}')
      .replace(/EXPERIMENT_HYPOTHESIS = .*/, 'EXPERIMENT_HYPOTHESIS = """two\nlines \\"quoted\\" \\x41"""');
    const read = readSection(source, AGENTS);
    expect(read.DROPOUT).toBe(0);
    expect(read.PER_AGENT_WEIGHTS.yoda).toBe(2);
    expect(read.EXPERIMENT_HYPOTHESIS).toBe('two\nlines "quoted" A');
  });
});

describe('writeSection', () => {
  it.each(HOSTILE_HYPOTHESES.map((h) => [h]))('round-trips the hypothesis %j', (hypothesis) => {
    const next = values({ EXPERIMENT_HYPOTHESIS: hypothesis, LEARNING_RATE: 1e-6, DROPOUT: 0 });
    const written = writeSection(FILE, next, AGENTS);
    expect(readSection(written, AGENTS)).toEqual(next);
    const [before, after] = [FILE.split(BEGIN_MARKER)[0], FILE.split(END_MARKER)[1]];
    expect(written.startsWith(`${before}${BEGIN_MARKER}\n`)).toBe(true);
    expect(written.endsWith(`${END_MARKER}${after}`)).toBe(true);
    expect(written.split('\n').filter((l) => l.trim() === END_MARKER)).toHaveLength(1);
  });

  it('changes nothing outside the markers, byte for byte', () => {
    const weird = `# -*- coding: utf-8 -*-\r\nx = "é"\t\r\n${BEGIN_MARKER}\nOLD = 1\n${END_MARKER}\n  tail without newline`;
    const written = writeSection(weird, values(), AGENTS);
    expect(written.slice(0, weird.indexOf(BEGIN_MARKER))).toBe(weird.slice(0, weird.indexOf(BEGIN_MARKER)));
    expect(written.slice(written.indexOf(END_MARKER))).toBe(weird.slice(weird.indexOf(END_MARKER)));
  });

  it.each([
    ['an int out of range', { ITERS: 1201 }, /ITERS: expected a whole number from 50 to 1200/],
    ['a fraction for an int', { GRAD_ACCUM: 2.5 }, /GRAD_ACCUM/],
    ['a string for a float', { DROPOUT: '0.1' as unknown as number }, /DROPOUT/],
    ['NaN', { LEARNING_RATE: Number.NaN }, /LEARNING_RATE/],
    ['an unknown agent', { PER_AGENT_WEIGHTS: { ...values().PER_AGENT_WEIGHTS, vader: 1 } }, /vader/],
    ['a hypothesis over 2000 characters', { EXPERIMENT_HYPOTHESIS: '🚀'.repeat(2001) }, /EXPERIMENT_HYPOTHESIS: at most 2000/],
  ])('refuses %s', (_label, over, message) => {
    expect(() => writeSection(FILE, values(over as Partial<HyperParameters>), AGENTS)).toThrow(message);
  });

  it('refuses a file without exactly one pair of markers', () => {
    expect(() => writeSection(FILE.replace(END_MARKER, ''), values(), AGENTS)).toThrow(/END.*missing/);
    expect(() => writeSection(`${FILE}\n${BEGIN_MARKER}\n`, values(), AGENTS)).toThrow(/repeated/);
  });

  it('refuses unknown and missing names', () => {
    expect(() => writeSection(FILE, { ...values(), EPOCHS: 3 }, AGENTS)).toThrow(/EPOCHS/);
    const { ITERS: _dropped, ...rest } = values();
    expect(() => writeSection(FILE, rest, AGENTS)).toThrow(/ITERS/);
  });
});

describe('Python literal formatting', () => {
  it.each([
    [32, '32.0'],
    [0.05, '0.05'],
    [5e-6, '0.000005'],
    [1e-7, '1e-7'],
    [1e21, '1e+21'],
    [0, '0.0'],
  ])('writes %s as %s', (v, s) => {
    expect(pythonFloat(v)).toBe(s);
  });

  it('escapes what could break the literal and keeps the rest readable', () => {
    expect(pythonString('a"b\\c\nd#é🚀')).toBe('"a\\"b\\\\c\\nd#é🚀"');
    expect(pythonString('\u2028\x85\x00')).toBe('"\\u2028\\x85\\x00"');
  });
});

describe('validateValues', () => {
  it('names the parameter in every issue', () => {
    const result = validateValues({ ...values(), LORA_ALPHA: 8, DROPOUT: 0.5 }, AGENTS);
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(result.issues.some((i) => i.startsWith('LORA_ALPHA:'))).toBe(true);
      expect(result.issues.some((i) => i.startsWith('DROPOUT:'))).toBe(true);
    }
  });
});
