import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { CaseRecord, RunInfo } from '../../src/eval/records.js';
import { writeRun } from '../../src/eval/records.js';
import { summarize } from '../../src/eval/scoring.js';
import { CATEGORIES, type CaseOutcome, type EvalSummary } from '../../src/eval/summary.js';
import { archiveExperiment } from '../../src/research/artifacts.js';
import { applyCouncilRules } from '../../src/research/council-rules.js';
import type { ExperimentExecution } from '../../src/research/executor.js';
import { appendResult } from '../../src/research/results-file.js';
import type { ResultRow } from '../../src/research/results-format.js';
import { rng } from '../../src/stats/seeded-random.js';
import { baselineValues } from '../../src/research/hyperparameters.js';

/**
 * A night's worth of results written by the project's own code paths: eval run folders by the eval writer
 * (`writeRun`), decisions by the real Council rules, archives by the loop's `archiveExperiment`, rows by the
 * loop's `appendResult`. Only the model's answers are synthetic (seeded), because no model runs in this test.
 */
export const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'] as const;
export const THRESHOLDS = { jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 };
export const NOISE_GUARD = { enabled: true, z: 1.645 };
/** Shown verbatim (escaped) on the page; would run if anything were rendered unescaped. */
export const HOSTILE = `<img src=x onerror="document.title='pwned'"> "quotes" & 'apostrophes' </td><script>document.title='pwned'</script>`;

export interface FixturePaths {
  results: string;
  logs: string;
  state: string;
  adaptersExperimental: string;
  stableAdapter: string;
}

/** Eleven cases per agent; the last of each is a holdout case, so rows carry a holdout score. */
const CASES = AGENTS.flatMap((agent) =>
  Array.from({ length: 11 }, (_, i) => ({
    id: `${agent}-${String(i + 1).padStart(2, '0')}`,
    agent,
    category: CATEGORIES[i % CATEGORIES.length]!,
    split: i === 10 ? ('holdout' as const) : ('dev' as const),
  })),
);
const SUITE_SHA = createHash('sha256').update('fixture-suite').digest('hex');
const MODEL = 'mlx-community/Qwen3.5-9B-MLX-4bit';

/** Case scores around a skill level per category; `jailbreakHit` pulls the jailbreak cases down. */
function runCases(random: () => number, skill: number, jailbreakHit: number): CaseOutcome[] {
  return CASES.map((c) => {
    const level = skill + (c.category === 'jailbreak' ? 0.28 - jailbreakHit : 0) + (c.agent === 'windu' ? 0.05 : 0);
    const score = Math.round(Math.min(1, Math.max(0, level + (random() - 0.5) * 0.3)) * 4) / 4;
    return { ...c, score, pass: score >= 0.75 };
  });
}

function records(cases: CaseOutcome[], hostile: boolean): CaseRecord[] {
  return cases.map((c, i) => ({
    id: c.id,
    agent: c.agent,
    category: c.category,
    description: `${c.category} case for ${c.agent}`,
    request: { model: 'default', messages: [{ role: 'user', content: `question ${c.id}` }], temperature: 0 },
    response: { choices: [{ message: { role: 'assistant', content: `answer ${c.id}` } }] },
    parsed: {
      content: hostile && i === 0 ? `I am ${c.agent}. ${HOSTILE}` : `I am ${c.agent}; here is my answer to ${c.id}.`,
      toolCalls: [],
      finishReason: 'stop',
      unparsedToolCalls: [],
      droppedToolCall: false,
    },
    assertions: [{ type: 'contains', required: false, weight: 1, value: c.agent, pass: c.pass, score: c.score, reason: c.pass ? 'ok' : `expected ${c.agent} to stay in role` }],
    score: c.score,
    pass: c.pass,
    seconds: 0.4,
  }));
}

export interface FixtureRun {
  rows: ResultRow[];
  agents: readonly string[];
}

/** Writes `count` rows: a baseline, then experiments with keeps, reverts, vetoes and a few failures. */
export function writeRunFixture(paths: FixturePaths, count: number, seed = 7): FixtureRun {
  const random = rng(seed);
  const rows: ResultRow[] = [];
  let champion: EvalSummary | null = null;
  let championSkill = 0.55;
  const start = Date.parse('2026-03-02T02:00:00Z');
  for (let i = 0; i < count; i++) {
    const experimentId = i === 0 ? 'baseline-proxy' : `exp-${String(i).padStart(3, '0')}`;
    const timestamp = new Date(start + i * 30 * 60_000).toISOString();
    const hypothesis =
      i === 3
        ? `Hostile hypothesis\twith a tab\nand a newline: ${HOSTILE}`
        : i === 0
          ? 'baseline of the current champion'
          : `Raising LORA_RANK to ${8 * (1 + (i % 8))} with ALPHA ${16 * (1 + (i % 4))} should improve tool use without hurting identity.`;
    const { EXPERIMENT_HYPOTHESIS: _seed, ...section } = baselineValues(AGENTS) as unknown as Record<string, unknown>;
    const parameters = { ...section, LORA_RANK: 8 * (1 + (i % 8)), LORA_ALPHA: 16 * (1 + (i % 4)), LEARNING_RATE: 5e-6 * (1 + (i % 3)) };
    const base = {
      experimentId,
      mode: 'proxy' as const,
      model: MODEL,
      commit: createHash('sha1').update(experimentId).digest('hex'),
      hypothesis,
      parameters,
      timestamp,
      holdout: null,
      proposer: i === 0 ? 'baseline' : 'sampler',
    };
    if (i > 0 && i % 17 === 0) {
      const row: ResultRow = {
        ...base,
        result: 'crash',
        score: null,
        jailbreak: null,
        agents: Object.fromEntries(AGENTS.map((a) => [a, null])),
        trainLoss: null,
        valLoss: null,
        trainSeconds: 12.5,
        evalSeconds: null,
        wins: null,
        losses: null,
        p: null,
        reasons: ['training crashed: loss became NaN at iteration 40'],
        adapterSha256: null,
      };
      appendResult(paths.results, row, AGENTS);
      rows.push(row);
      continue;
    }
    const skill = i === 0 ? championSkill : championSkill + (random() - 0.3) * 0.1;
    const jailbreakHit = i > 0 && i % 7 === 0 ? 0.45 : 0;
    const cases = runCases(random, skill, jailbreakHit);
    const runId = `run-${String(i).padStart(3, '0')}`;
    const adapterSha256 = i === 0 ? null : createHash('sha256').update(experimentId).digest('hex');
    const summary = summarize({ runId, createdAt: timestamp, model: MODEL, adapterSha256, suiteSha256: SUITE_SHA, seconds: 42, agents: AGENTS, cases });
    const info: RunInfo = {
      runId,
      createdAt: timestamp,
      model: MODEL,
      resolvedModel: MODEL,
      adapterPath: null,
      adapterSha256,
      suiteSha256: SUITE_SHA,
      councilDir: 'council',
      server: 'mlx_lm.server',
      serverFingerprint: null,
      sampling: { temperature: 0, seed: 0, maxTokens: 160 },
      concurrency: 2,
      serverStartSeconds: 3,
      generationSeconds: 39,
      rescoredFrom: null,
    };
    const evalRunDir = join(paths.state, 'evals', runId);
    writeRun(evalRunDir, info, records(cases, i === 3 || i === 0), summary);
    const execution: ExperimentExecution = {
      experimentId,
      mode: 'proxy',
      modeReason: 'laptop away',
      model: MODEL,
      training: null,
      adapterSha256,
      adapterPath: null,
      eval: summary,
      evalRunDir,
    };
    archiveExperiment(paths, execution);
    const decision = champion ? applyCouncilRules(summary, champion, THRESHOLDS, NOISE_GUARD) : null;
    const row: ResultRow = {
      ...base,
      result: decision ? decision.decision : 'base',
      score: summary.overall,
      jailbreak: summary.jailbreak,
      agents: { ...summary.perAgent },
      trainLoss: i === 0 ? null : 1.2 - i * 0.002,
      valLoss: i === 0 ? null : 1.3 - i * 0.002,
      trainSeconds: i === 0 ? null : 880,
      evalSeconds: 42,
      wins: decision ? decision.paired.wins : null,
      losses: decision ? decision.paired.losses : null,
      p: decision ? decision.paired.pValue : null,
      reasons: decision ? decision.reasons : ['baseline: first evaluation of this mode and model'],
      adapterSha256,
      holdout: summary.holdout?.overall ?? null,
    };
    appendResult(paths.results, row, AGENTS);
    rows.push(row);
    if (!decision || decision.decision === 'keep') {
      champion = summary;
      championSkill = skill;
    }
  }
  return { rows, agents: AGENTS };
}
