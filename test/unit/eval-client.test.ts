import { describe, expect, it } from 'vitest';
import { parseModelSpec } from '../../src/cli/commands/benchmark.js';
import { chatCompletionsUrl } from '../../src/eval/client.js';
import { newRunId } from '../../src/eval/run.js';
import { evalSummarySchema } from '../../src/eval/summary.js';

describe('chatCompletionsUrl', () => {
  it.each([
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/v1/chat/completions'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080/v1/chat/completions'],
    ['http://host:1234/v1', 'http://host:1234/v1/chat/completions'],
    ['http://host:1234/v1/chat/completions', 'http://host:1234/v1/chat/completions'],
  ])('%s -> %s', (base, url) => {
    expect(chatCompletionsUrl(base)).toBe(url);
  });
});

describe('parseModelSpec (benchmark --model)', () => {
  it.each([
    ['tiny', { label: 'tiny', model: 'tiny', adapter: null }],
    ['tiny:adapters/exp-12', { label: 'tiny+adapters/exp-12', model: 'tiny', adapter: 'adapters/exp-12' }],
    ['champ=mlx-community/Qwen3.5-9B-MLX-4bit:/a/b', { label: 'champ', model: 'mlx-community/Qwen3.5-9B-MLX-4bit', adapter: '/a/b' }],
  ])('%s', (spec, expected) => {
    expect(parseModelSpec(spec)).toEqual(expected);
  });
  it.each(['', 'tiny:', 'x=:a'])('rejects %j', (spec) => {
    expect(() => parseModelSpec(spec)).toThrow(/expected \[LABEL=\]MODEL\[:ADAPTER\]/);
  });
});

describe('newRunId', () => {
  it('is sortable by time and valid as a summary runId', () => {
    const a = newRunId(new Date('2026-01-01T20:30:00.123Z'));
    expect(a).toMatch(/^eval-20260101T203000Z-[0-9a-f]{6}$/);
    expect(evalSummarySchema.shape.runId.safeParse(a).success).toBe(true);
    expect(newRunId(new Date('2026-01-02T00:00:00Z')) > a).toBe(true);
  });
});
