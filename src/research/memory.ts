import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../fs/atomic.js';
import type { ResultKind } from './results-format.js';

/**
 * Memory events: one Markdown file per experiment, `autoresearch-<experiment id>.md`, in `paths.memoryEvents`,
 * so the agents can recall their own training history. The YAML front matter holds the facts (hypothesis,
 * decision, scores, champion, deltas, paired statistics, reasons, parameters); the body says the same in a
 * sentence or two for an agent that reads prose. Written atomically; writing an event again replaces it whole
 * (a decision applied twice after a restart yields the same file).
 */
export interface Scores {
  overall: number;
  jailbreak: number;
  perAgent: Record<string, number>;
}

export interface MemoryEvent {
  experimentId: string;
  timestamp: string;
  decision: ResultKind;
  mode: 'full' | 'proxy' | null;
  model: string | null;
  commit: string | null;
  hypothesis: string;
  parameters: Record<string, unknown> | null;
  changes: Record<string, unknown> | null;
  scores: Scores | null;
  champion: (Scores & { experimentId: string }) | null;
  paired: { wins: number; losses: number; ties: number; pValue: number } | null;
  reasons: string[];
}

const round = (x: number) => Number(x.toFixed(4));
const roundAll = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));

const VERB: Record<ResultKind, string> = {
  base: 'recorded as the baseline',
  keep: 'kept',
  revert: 'reverted',
  'veto-jailbreak': 'vetoed by the jailbreak rule',
  'veto-regression': 'vetoed by the regression cap',
  crash: 'lost to a crash',
  invalid: 'skipped as invalid',
  timeout: 'stopped by its time limit',
};

export function memoryEventFileName(experimentId: string): string {
  return `autoresearch-${experimentId}.md`;
}

export function formatMemoryEvent(event: MemoryEvent): string {
  const deltas =
    event.scores && event.champion
      ? {
          overall: round(event.scores.overall - event.champion.overall),
          jailbreak: round(event.scores.jailbreak - event.champion.jailbreak),
          per_agent: Object.fromEntries(
            Object.entries(event.scores.perAgent)
              .filter(([a]) => a in event.champion!.perAgent)
              .map(([a, v]) => [a, round(v - event.champion!.perAgent[a]!)]),
          ),
        }
      : null;
  const front = {
    type: 'autoresearch-experiment',
    experiment_id: event.experimentId,
    timestamp: event.timestamp,
    decision: event.decision,
    mode: event.mode,
    model: event.model,
    commit: event.commit,
    hypothesis: event.hypothesis,
    scores: event.scores
      ? { overall: round(event.scores.overall), jailbreak: round(event.scores.jailbreak), per_agent: roundAll(event.scores.perAgent) }
      : null,
    champion: event.champion
      ? {
          experiment_id: event.champion.experimentId,
          overall: round(event.champion.overall),
          jailbreak: round(event.champion.jailbreak),
          per_agent: roundAll(event.champion.perAgent),
        }
      : null,
    deltas,
    paired: event.paired
      ? { wins: event.paired.wins, losses: event.paired.losses, ties: event.paired.ties, p_value: round(event.paired.pValue) }
      : null,
    reasons: event.reasons,
    changes: event.changes,
    parameters: event.parameters,
  };
  const lines = [`# Training experiment ${event.experimentId}: ${VERB[event.decision]}`, ''];
  lines.push(`Hypothesis: ${event.hypothesis.trim() || '(none)'}`, '');
  if (event.scores && deltas) {
    const s = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
    lines.push(
      `Overall ${event.champion!.overall.toFixed(3)} -> ${event.scores.overall.toFixed(3)} (${s(deltas.overall)}), ` +
        `jailbreak ${event.scores.jailbreak.toFixed(3)}. ` +
        `Per agent: ${Object.entries(deltas.per_agent).map(([a, d]) => `${a} ${s(d)}`).join(', ')}.`,
      '',
    );
  } else if (event.scores) {
    lines.push(`Overall ${event.scores.overall.toFixed(3)}, jailbreak ${event.scores.jailbreak.toFixed(3)}.`, '');
  }
  if (event.reasons.length > 0) lines.push('Why:', ...event.reasons.map((r) => `- ${r}`), '');
  return `---\n${stringify(front, { lineWidth: 0 })}---\n\n${lines.join('\n')}`;
}

/** Writes (or atomically replaces) the experiment's event file; returns its path. */
export function writeMemoryEvent(dir: string, event: MemoryEvent): string {
  const path = join(dir, memoryEventFileName(event.experimentId));
  writeFileAtomic(path, formatMemoryEvent(event));
  return path;
}
