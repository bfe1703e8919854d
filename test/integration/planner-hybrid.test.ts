import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { claudePlanner } from '../../src/planner/claude.js';
import { CostMeter } from '../../src/planner/cost.js';
import { hybridPlanner } from '../../src/planner/hybrid.js';
import { recentMemoryEvents } from '../../src/planner/memory-events.js';
import { writeMemoryEvent } from '../../src/research/memory.js';
import type { ResultRow } from '../../src/research/results-format.js';
import { loadProgram } from '../../src/planner/program.js';
import { sectionValidator } from '../../src/planner/proposal.js';
import { SamplerServer } from '../../src/planner/sampler-process.js';
import { samplerAdvice, type SamplerPlannerOptions } from '../../src/planner/sampler.js';
import { configKey } from '../../src/planner/search-space.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { searchSpace } from '../../src/research/hyperparameters.js';
import { GitLedger } from '../../src/research/ledger.js';
import { planExperiment, type PlanDeps } from '../../src/research/plan-experiment.js';
import { readSection, writeSection } from '../../src/research/section.js';
import { FakeAnthropic, fixture, type Reply } from '../support/fake-anthropic.js';
import { uniquePrefix } from '../support/redis.js';
import { tempRepo } from '../support/temp-repo.js';

/** The hybrid planner: the real sampler (python/planner.py) and Claude through a local Messages API server. */
const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const KEY = 'sk-ant-api03-test-key';
const SPACE = searchSpace('qwen');
const specs = SPACE.table.parameters;
const silent = pino({ level: 'silent' });
const THRESHOLDS = { jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 };

let fake: FakeAnthropic;
let redis: Redis;
let sampler: SamplerServer;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  sampler = new SamplerServer();
});
afterAll(async () => {
  redis.disconnect();
  await sampler.close();
});

let deps: PlanDeps;
let samplerOptions: SamplerPlannerOptions;
const cleanup: string[] = [];

async function setup(claudeShare: number): Promise<void> {
  const repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
  const state = mkdtempSync(join(tmpdir(), 'autoresearch-hybrid-'));
  cleanup.push(repo, state);
  const ledger = await GitLedger.open(repo, 'autoresearch/test');
  await ledger.ensureBranch();
  const claude = claudePlanner({
    apiKey: KEY, baseURL: fake.url, model: 'claude-haiku-5-5', maxTokens: 1024, timeoutMs: 10_000, maxRetries: 1,
    program: loadProgram(specs), validate: sectionValidator(AGENTS), pricing: { inputUsdPerMTok: 1, outputUsdPerMTok: 5 },
    meter: new CostMeter(redis, uniquePrefix('cost'), 2), log: silent,
  });
  samplerOptions = { sampler: 'tpe', seed: 0, thresholds: THRESHOLDS, validate: sectionValidator(AGENTS), client: sampler };
  const planner = hybridPlanner({
    sampler: samplerOptions, claude, claudeShare, candidates: 3, log: silent,
    memoryEvents: () => ['---\ndecision: revert\n---\nexp-0 was reverted: overall 0.700 -> 0.690.'],
  });
  deps = {
    planner,
    section: { read: (s, space) => readSection(s, AGENTS, space.table) as never, write: (s, v, space) => writeSection(s, v, AGENTS, space.table) },
    spaces: { proxy: SPACE, full: SPACE }, agents: AGENTS, ledger, log: silent, models: { proxy: 'tiny', full: 'tiny-full' },
    resultsPath: join(repo, 'results.tsv'), memoryEventsDir: join(state, 'events'),
    artifacts: { adaptersExperimental: join(repo, 'adapters-experimental'), logs: join(repo, 'logs'), stableAdapter: join(state, 'stable') },
    now: () => new Date('2026-12-01T02:00:00Z'),
  };
}

beforeEach(async () => {
  fake = new FakeAnthropic(KEY);
  await fake.start();
});
afterEach(async () => {
  await fake.stop();
  for (const d of cleanup.splice(0)) rmSync(d, { recursive: true, force: true });
});

const plan = () => planExperiment(deps, 'exp-1', 'proxy', 'proxy', new AbortController().signal);
const committedValues = () => readSection(deps.ledger.readTrainPy(), AGENTS) as unknown as Record<string, unknown>;

/** A Messages API reply calling the tool with this input, in the shape of the recorded fixtures. */
function toolReply(input: { hypothesis: string; changes: Record<string, unknown> }): Reply {
  const base = fixture('valid-proposal');
  const body = structuredClone(base.body) as { content: Array<{ input: unknown }> };
  body.content[0]!.input = input;
  return { ...base, body };
}

describe('hybrid planner', () => {
  it("Claude's turn: sees the sampler's candidates, the importances and memory events, and may propose its own", async () => {
    await setup(1);
    fake.enqueue(fixture('valid-proposal'));
    const step = await plan();
    expect(step.kind).toBe('committed');
    if (step.kind !== 'committed') return;
    expect(step.request.proposer).toBe('claude');
    const message: string = fake.requests[0]!.body.messages[0].content;
    expect(message).toContain("## The sampler's candidates (TPE, from 0 decided experiments of this mode)");
    expect(message.match(/^\d\. changes: \{/gm)).toHaveLength(3);
    expect(message).toContain('## Parameter importance\n\nnot enough decided experiments of this mode yet');
    expect(message).toContain('exp-0 was reverted: overall 0.700 -> 0.690.');
    expect(message).not.toMatch(/holdout/i);
    expect(committedValues().LORA_RANK).toBe(48);
  });

  it('out of range: one corrective retry, then the corrected proposal is committed', async () => {
    await setup(1);
    fake.enqueue(fixture('out-of-range'), fixture('corrected-proposal'));
    const step = await plan();
    expect(step.kind).toBe('committed');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.body.messages[2].content[0]).toMatchObject({ type: 'tool_result', is_error: true });
    expect(committedValues().LORA_RANK).toBe(64);
  });

  it("picks one of the sampler's candidates as it is", async () => {
    await setup(1);
    const context = {
      experimentId: 'exp-1', mode: 'proxy' as const, current: readSection(deps.ledger.readTrainPy(), AGENTS) as never, history: [], champion: null,
      lastTraining: null, agents: AGENTS, searchSpace: SPACE, specs,
    };
    const advice = await samplerAdvice(context, samplerOptions, 3);
    const second = advice.candidates[1]!;
    fake.enqueue(toolReply({ hypothesis: `Candidate 2 of the sampler: ${second.hypothesis.slice(0, 200)}`, changes: second.changes }));
    const step = await plan();
    expect(step.kind).toBe('committed');
    if (step.kind !== 'committed') return;
    const { EXPERIMENT_HYPOTHESIS: _h, ...values } = step.request.values;
    const { EXPERIMENT_HYPOTHESIS: _s, ...expected } = second.values;
    expect(configKey(values)).toBe(configKey(expected));
    expect(step.request.proposer).toBe('claude');
  });

  it("the sampler's turn: no API call, the sampler's first choice, recorded as the sampler's", async () => {
    await setup(0.3);
    const step = await plan();
    expect(fake.requests).toHaveLength(0);
    expect(step.kind).toBe('committed');
    if (step.kind !== 'committed') return;
    expect(step.request.proposer).toBe('sampler');
    expect(String(step.request.values.EXPERIMENT_HYPOTHESIS)).toMatch(/Chosen by TPE from 0 decided experiments of this mode: tpe: random start-up sample/);
  });

  it("Claude unavailable tonight: the sampler's first choice runs instead", async () => {
    await setup(1);
    fake.enqueue(fixture('error-529'), fixture('error-529'));
    const step = await plan();
    expect(fake.requests).toHaveLength(2);
    expect(step.kind).toBe('committed');
    if (step.kind === 'committed') expect(step.request.proposer).toBe('sampler');
  });

  it('reads the latest memory events of results.tsv, newest last, cut to size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoresearch-events-'));
    cleanup.push(dir);
    const ids = ['baseline-1', 'exp-1', 'exp-2', 'exp-3'];
    for (const id of ids) {
      writeMemoryEvent(dir, {
        experimentId: id, timestamp: '2026-12-01T02:00:00Z', decision: id.startsWith('baseline') ? 'base' : 'revert', mode: 'proxy', model: 'tiny',
        commit: null, hypothesis: `hypothesis of ${id} ${'x'.repeat(id === 'exp-3' ? 3_000 : 0)}`, parameters: null, changes: null, scores: null,
        champion: null, paired: null, reasons: [],
      });
    }
    const history = ids.map((id) => ({ experimentId: id, result: id.startsWith('baseline') ? 'base' : 'revert' }) as ResultRow);
    const events = recentMemoryEvents(dir, history, 2);
    expect(events).toHaveLength(2);
    expect(events[0]).toContain('hypothesis of exp-2');
    expect(events[1]).toContain('hypothesis of exp-3');
    expect(events[1]!.length).toBeLessThanOrEqual(1_500 + '\n(cut)'.length);
    expect(recentMemoryEvents(join(dir, 'missing'), history)).toEqual([]);
  });
});
