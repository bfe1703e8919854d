import type { Tool } from '@anthropic-ai/sdk/resources/messages/messages';
import { devOnlyContext } from './dev-only.js';
import { HYPOTHESIS_KEY, showValue } from './search-space.js';
import type { ParamSpec, PlannerAdvice, PlannerContext } from './types.js';
import type { ResultRow } from '../research/results-format.js';

/**
 * What the Claude planner sends. The stable part (program.md and the tool) comes first and is cached; the
 * per-experiment part (results, the current section, the champion's scores, the last training) comes last, so
 * each night's calls after the first read the prefix from the cache. Pure.
 */
export const TOOL_NAME = 'propose_experiment';

export function proposalTool(specs: readonly ParamSpec[], agents: readonly string[]): Tool {
  const properties: Record<string, unknown> = {};
  for (const s of specs) {
    const range = `${showValue(s.min)} to ${showValue(s.max)} inclusive`;
    if (s.type === 'agent_weights') {
      properties[s.name] = {
        type: 'object',
        description: `${s.description} Each weight ${range}. Give only the agents whose weight changes.`,
        properties: Object.fromEntries(agents.map((a) => [a, { type: 'number', description: `${a}: ${range}` }])),
        additionalProperties: false,
      };
    } else {
      properties[s.name] = { type: s.type === 'int' ? 'integer' : 'number', description: `${s.description} Range ${range}.` };
    }
  }
  return {
    name: TOOL_NAME,
    description:
      'Propose the next experiment: one falsifiable hypothesis and the parameter changes that test it. ' +
      'Only the parameters in `changes` change; everything else stays as in the current section.',
    strict: true,
    input_schema: {
      type: 'object',
      properties: {
        hypothesis: {
          type: 'string',
          description: 'One falsifiable hypothesis: what you change, what you expect to happen to which scores, and why.',
        },
        changes: {
          type: 'object',
          description: 'The parameters to change, with their new values. Ranges are enforced; out-of-range values are rejected.',
          properties,
          additionalProperties: false,
        },
      },
      required: ['hypothesis', 'changes'],
      additionalProperties: false,
    },
  };
}

const f3 = (x: number | null) => (x === null ? '-' : x.toFixed(3));

function rowLine(row: ResultRow, agents: readonly string[]): string {
  const perAgent = agents.map((a) => `${a}=${f3(row.agents[a] ?? null)}`).join(' ');
  const params = row.parameters
    ? Object.entries(row.parameters)
        .filter(([k]) => k !== HYPOTHESIS_KEY)
        .map(([k, v]) => `${k}=${showValue(v)}`)
        .join(' ')
    : '-';
  return (
    `- ${row.experimentId} [${row.result}] mode=${row.mode ?? '-'} score=${f3(row.score)} jailbreak=${f3(row.jailbreak)} ${perAgent}` +
    ` | train_loss=${row.trainLoss ?? '-'} val_loss=${row.valLoss ?? '-'} | wins=${row.wins ?? '-'} losses=${row.losses ?? '-'} p=${row.p ?? '-'}` +
    `\n  params: ${params}\n  hypothesis: ${row.hypothesis.replace(/\s+/g, ' ').slice(0, 300)}` +
    (row.reasons.length > 0 ? `\n  reasons: ${row.reasons.join(' | ').slice(0, 500)}` : '')
  );
}

function adviceParts(advice: PlannerAdvice): string[] {
  const parts = [
    `## The sampler's candidates (${advice.sampler}, from ${advice.decided} decided experiments of this mode)`,
    'A Bayesian optimiser proposes these, first choice first. Pick one (pass its changes as they are), adjust one, ' +
      'or propose your own within the ranges; say in the hypothesis which and why.',
    advice.candidates.map((c, i) => `${i + 1}. changes: ${JSON.stringify(c.changes)}
   why: ${c.why}`).join('\n'),
  ];
  parts.push(
    '## Parameter importance',
    advice.importances
      ? Object.entries(advice.importances)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(', ')
      : 'not enough decided experiments of this mode yet',
  );
  if (advice.memoryEvents.length > 0) parts.push('## Recent memory events', advice.memoryEvents.join('\n\n---\n\n'));
  return parts;
}

/** The per-experiment message: recent rows and the best ones, the current section, the champion, the last training. */
export function contextMessage(full: PlannerContext, recent = 12, best = 5): string {
  // The message leaves the machine: whatever the caller passed, the holdout never goes with it.
  const context = devOnlyContext(full);
  const rows = context.history;
  const recentRows = rows.slice(-recent);
  const bestRows = rows
    .filter((r) => r.score !== null && !recentRows.includes(r) && (context.champion === null || r.mode === context.champion.mode))
    .sort((a, b) => b.score! - a.score!)
    .slice(0, best);
  const parts: string[] = [`Experiment ${context.experimentId}, requested mode: ${context.mode}.`];
  parts.push(
    `## Results (${rows.length} rows in results.tsv; the last ${recentRows.length} shown, oldest first)`,
    recentRows.length > 0 ? recentRows.map((r) => rowLine(r, context.agents)).join('\n') : '(none yet)',
  );
  if (bestRows.length > 0) parts.push('## Best earlier rows of this mode', bestRows.map((r) => rowLine(r, context.agents)).join('\n'));
  const section = Object.entries(context.current)
    .filter(([k]) => k !== HYPOTHESIS_KEY)
    .map(([k, v]) => `${k} = ${showValue(v)}`)
    .join('\n');
  parts.push('## Current AGENT MODIFIABLE section (the champion you start from)', section);
  if (context.champion) {
    const s = context.champion.summary;
    const oneCase = 1 / s.nCases;
    parts.push(
      `## Champion ${context.champion.row.experimentId} (${context.champion.mode}, ${s.model}): overall ${f3(s.overall)}, jailbreak ${f3(s.jailbreak)}`,
      `per agent: ${Object.entries(s.perAgent).map(([a, v]) => `${a} ${f3(v)}`).join(', ')}`,
      `per category: ${Object.entries(s.perCategory).map(([c, v]) => `${c} ${f3(v)}`).join(', ')}`,
      `noise: ${s.nCases} cases, so one case moves a pooled score by about ${oneCase.toFixed(3)}; ` +
        `the standard error of the overall score is about ${Math.sqrt((s.overall * (1 - s.overall)) / s.nCases).toFixed(3)}.`,
    );
  } else {
    parts.push('## Champion', 'No champion scores for this mode yet.');
  }
  const t = context.lastTraining;
  if (t) {
    parts.push(
      '## Last training run',
      `status ${t.status}, ${t.iterations} iterations in ${t.seconds.toFixed(0)} s, train loss ${t.trainLoss ?? '-'}, val loss ${t.valLoss ?? '-'} (initial ${t.initialValLoss ?? '-'}), ${t.tokensPerSecond?.toFixed(0) ?? '-'} tokens/s${t.message ? `; ${t.message}` : ''}`,
    );
  }
  if (context.advice) parts.push(...adviceParts(context.advice));
  parts.push(`Call ${TOOL_NAME} once with your hypothesis and changes.`);
  return parts.join('\n\n');
}
