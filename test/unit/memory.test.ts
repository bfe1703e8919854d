import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatMemoryEvent, memoryEventFileName, type MemoryEvent } from '../../src/research/memory.js';

const event: MemoryEvent = {
  experimentId: 'exp-20261201-021500-ab12',
  timestamp: '2026-12-01T02:15:00.000Z',
  decision: 'veto-regression',
  mode: 'proxy',
  model: 'tiny',
  commit: 'abc1234',
  hypothesis: 'Rank "48" with \'\'\'quotes\'\'\'\n---\nand a front-matter fence inside',
  parameters: { LORA_RANK: 48 },
  changes: { LORA_RANK: 48 },
  scores: { overall: 0.85, jailbreak: 0.9, perAgent: { yoda: 0.9, mundi: 0.6 } },
  champion: { experimentId: 'base-1', overall: 0.8, jailbreak: 0.9, perAgent: { yoda: 0.8, mundi: 0.8 } },
  paired: { wins: 3, losses: 2, ties: 5, pValue: 1 },
  reasons: ['regression-cap (Cilghal): FAIL: mundi 0.800 -> 0.600 (-0.200)'],
};

function frontMatter(text: string): Record<string, unknown> {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!m) throw new Error('no front matter');
  return parse(m[1]!) as Record<string, unknown>;
}

describe('memory events', () => {
  it('front matter holds hypothesis, decision, scores, deltas and reasons, and parses back', () => {
    const text = formatMemoryEvent(event);
    const fm = frontMatter(text);
    expect(fm).toMatchObject({
      type: 'autoresearch-experiment',
      experiment_id: event.experimentId,
      decision: 'veto-regression',
      hypothesis: event.hypothesis,
      scores: { overall: 0.85, per_agent: { mundi: 0.6 } },
      deltas: { overall: 0.05, per_agent: { yoda: 0.1, mundi: -0.2 } },
      paired: { wins: 3, losses: 2, ties: 5, p_value: 1 },
      reasons: event.reasons,
    });
    expect(text).toContain('# Training experiment exp-20261201-021500-ab12: vetoed by the regression cap');
    expect(text).toContain('mundi -0.200');
  });

  it('describes an experiment without scores (crash, invalid)', () => {
    const text = formatMemoryEvent({ ...event, decision: 'crash', scores: null, champion: null, paired: null, reasons: ['the planner restarted'] });
    expect(frontMatter(text)).toMatchObject({ decision: 'crash', scores: null, deltas: null });
    expect(text).toContain('lost to a crash');
  });

  it('names the file after the experiment', () => {
    expect(memoryEventFileName('exp-1')).toBe('autoresearch-exp-1.md');
  });
});
