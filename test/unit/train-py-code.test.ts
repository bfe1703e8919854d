import { describe, expect, it } from 'vitest';
import { BEGIN_MARKER, END_MARKER } from '../../src/research/section.js';
import { trainPyCodeSha256 } from '../../src/train/train-py-code.js';

const file = (before: string, section: string, after: string) => `${before}\n${BEGIN_MARKER}\n${section}\n${END_MARKER}\n${after}\n`;

describe('trainPyCodeSha256', () => {
  const base = trainPyCodeSha256(file('import mlx', 'LEARNING_RATE = 5e-06', 'train()'));
  it.each([
    ['another section', file('import mlx', 'LEARNING_RATE = 0.0001\nITERS = 50', 'train()'), true],
    ['a change before the section', file('import mlx, os', 'LEARNING_RATE = 5e-06', 'train()'), false],
    ['a change after the section', file('import mlx', 'LEARNING_RATE = 5e-06', 'train(fast=True)'), false],
    ['code moved into the section', file('', 'import mlx\nLEARNING_RATE = 5e-06', 'train()'), false],
  ])('%s -> same code: %s', (_, source, same) => {
    expect(trainPyCodeSha256(source) === base).toBe(same);
  });

  it('refuses a file without exactly one pair of markers', () => {
    expect(() => trainPyCodeSha256('train()\n')).toThrow(/AGENT MODIFIABLE/);
    expect(() => trainPyCodeSha256(`${END_MARKER}\n${BEGIN_MARKER}\n`)).toThrow(/in that order/);
  });
});
