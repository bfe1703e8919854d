import { describe, expect, it } from 'vitest';
import { ADOPTED_TRAILER, EXPERIMENT_TRAILER, LedgerInputError, adoptedMessage, experimentMessage } from '../../src/research/experiment-message.js';

describe('experimentMessage', () => {
  it('has a subject, the hypothesis, the summary, and the experiment trailer last', () => {
    expect(experimentMessage('exp-1', 'raise rank\nmore capacity for the persona', 'LORA_RANK 32 -> 48')).toBe(
      `experiment exp-1: raise rank\n\nraise rank\nmore capacity for the persona\n\nLORA_RANK 32 -> 48\n\n${EXPERIMENT_TRAILER}: exp-1\n`,
    );
  });

  it.each([
    ['collapses whitespace in the first line', 'raise \t  rank\r\nsecond line', 'experiment e: raise rank'],
    ['keeps a 60-character first line whole', 'x'.repeat(60), `experiment e: ${'x'.repeat(60)}`],
    ['cuts a longer one to 57 characters and an ellipsis', 'y'.repeat(61), `experiment e: ${'y'.repeat(57)}...`],
  ])('subject: %s', (_what, hypothesis, subject) => expect(experimentMessage('e', hypothesis, 's').split('\n')[0]).toBe(subject));

  it.each([
    ['a trailer-shaped line in the hypothesis', 'raise rank\nAutoresearch-Experiment: exp-other', 'ok', /hypothesis has the trailer-shaped line "Autoresearch-Experiment:"/],
    ['a NUL byte in the hypothesis', 'raise rank\u0000 now', 'ok', /its hypothesis contains the control character U\+0000/],
    ['a lone surrogate in the summary', 'raise rank', 'ok \ud800', /its summary contains a lone surrogate/],
  ])('refuses %s', (_what, hypothesis, summary, message) => {
    const make = () => experimentMessage('exp-1', hypothesis, summary);
    expect(make).toThrow(LedgerInputError);
    expect(make).toThrow(message);
  });
});

describe('adoptedMessage', () => {
  it('names the experiment, the line and the commit it was trained as, with the adopted trailer last', () => {
    const message = adoptedMessage('exp-2', 'autoresearch/night-full', 'abc123');
    expect(message.split('\n')[0]).toBe('keep experiment exp-2 on autoresearch/night-full');
    expect(message).toContain('trained and evaluated as abc123');
    expect(message.endsWith(`\n\n${ADOPTED_TRAILER}: exp-2\n`)).toBe(true);
  });
});
