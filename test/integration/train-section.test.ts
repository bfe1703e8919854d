import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, venvPython } from '../../src/project.js';
import { baselineValues, type HyperParameters } from '../../src/research/hyperparameters.js';
import { readSection, writeSection } from '../../src/research/section.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const TRAIN_PY = readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8');
const HPARAMS = join(PROJECT_ROOT, 'python', 'hparams.py');
const dir = mkdtempSync(join(tmpdir(), 'section-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE = [
  `She said "hi" and 'bye'`,
  '"""triple double""" and \'\'\'triple single\'\'\'',
  'ends with a backslash \\',
  'a \\n that is not a newline, \\x41, \\N{BULLET}',
  'line one\nline two\r\nline three\rend',
  '# ==== AGENT MODIFIABLE: END ====\nITERS = 9999\n# ==== AGENT MODIFIABLE: BEGIN ====',
  'unicode: naïve café — 中文 ∑ ∞',
  'emoji 🚀🔥👩‍🔬 and flags 🇫🇷',
  'control \x00 \x07 \x1b[31m \x7f \x85 \u2028 \u2029 \f \v',
  `"; import os; os.system("touch ${join(dir, 'PWNED')}"); x = "`,
  '🚀'.repeat(2000),
];

/** Python's own reading of a file: hparams.py parses the section with `ast` and prints the values as JSON. */
async function pythonReads(file: string): Promise<unknown> {
  const { stdout } = await execa(venvPython(), [HPARAMS, file, '--agents', AGENTS.join(',')]);
  return JSON.parse(stdout) as unknown;
}

describe('writeSection output, read by Python', () => {
  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile hypothesis %i parses as Python and reads back the same', async (i, hypothesis) => {
    const values: HyperParameters = { ...baselineValues(AGENTS), EXPERIMENT_HYPOTHESIS: hypothesis, LEARNING_RATE: 1e-6, DROPOUT: 0.15, ITERS: 1200 };
    const file = join(dir, `train-${i}.py`);
    const written = writeSection(TRAIN_PY, values, AGENTS);
    writeFileSync(file, written);
    await execa(venvPython(), ['-c', 'import ast, sys; ast.parse(open(sys.argv[1], encoding="utf-8").read())', file]);
    expect(await pythonReads(file)).toEqual(values);
    expect(readSection(written, AGENTS)).toEqual(values);
  });

  it('leaves the fixed code of train.py unchanged and never runs the hypothesis', () => {
    const written = writeSection(TRAIN_PY, { ...baselineValues(AGENTS), EXPERIMENT_HYPOTHESIS: HOSTILE[9]! }, AGENTS);
    const outside = (s: string) => s.replace(/# ==== AGENT MODIFIABLE: BEGIN ====[\s\S]*# ==== AGENT MODIFIABLE: END ====/, '');
    expect(outside(written)).toBe(outside(TRAIN_PY));
    expect(() => readFileSync(join(dir, 'PWNED'))).toThrow();
  });

  it('reads the committed train.py the same way Python does', async () => {
    expect(readSection(TRAIN_PY, AGENTS)).toEqual(await pythonReads(join(PROJECT_ROOT, 'python', 'train.py')));
  });
});
