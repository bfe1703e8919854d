import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { claudePlanner } from '../../src/planner/claude.js';
import { CostMeter, costUsd } from '../../src/planner/cost.js';
import { loadProgram } from '../../src/planner/program.js';
import { PlannerFatalError } from '../../src/planner/types.js';
import { sectionValidator } from '../../src/planner/proposal.js';
import { PROJECT_ROOT, venvPython } from '../../src/project.js';
import { searchSpace } from '../../src/research/hyperparameters.js';
import { GitLedger } from '../../src/research/ledger.js';
import { planExperiment, type PlanDeps } from '../../src/research/plan-experiment.js';
import { readResults } from '../../src/research/results-file.js';
import { readSection, writeSection } from '../../src/research/section.js';
import { FakeAnthropic, fixture } from '../support/fake-anthropic.js';
import { uniquePrefix } from '../support/redis.js';
import { gitIn, tempRepo } from '../support/temp-repo.js';

const AGENTS = ['yoda', 'jocasta', 'windu', 'quigon', 'cilghal', 'mundi'];
const KEY = 'sk-ant-api03-test-key';
const PRICE = { inputUsdPerMTok: 1, outputUsdPerMTok: 5 };
const specs = searchSpace().table.parameters;
const silent = pino({ level: 'silent' });

let fake: FakeAnthropic;
let redis: Redis;
beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  redis.disconnect();
});

interface Env {
  repo: string;
  deps: PlanDeps;
  meter: CostMeter;
  before: string;
}
let env: Env;
const cleanup: string[] = [];

beforeEach(async () => {
  fake = new FakeAnthropic(KEY);
  await fake.start();
  env = await setup(KEY, 2);
});
afterEach(async () => {
  await fake.stop();
  for (const d of cleanup.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(apiKey: string, capUsd: number): Promise<Env> {
  const repo = tempRepo({ 'python/train.py': readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8') });
  const state = mkdtempSync(join(tmpdir(), 'autoresearch-planner-'));
  cleanup.push(repo, state);
  const ledger = await GitLedger.open(repo, 'autoresearch/test');
  await ledger.ensureBranch();
  const meter = new CostMeter(redis, uniquePrefix('cost'), capUsd);
  const planner = claudePlanner({
    apiKey,
    baseURL: fake.url,
    model: 'claude-haiku-5-5',
    maxTokens: 1024,
    timeoutMs: 10_000,
    maxRetries: 2,
    program: loadProgram(specs),
    validate: sectionValidator(AGENTS),
    pricing: PRICE,
    meter,
    log: silent,
  });
  const deps: PlanDeps = {
    planner,
    section: { read: (s, space) => readSection(s, AGENTS, space.table) as never, write: (s, v, space) => writeSection(s, v, AGENTS, space.table) },
    spaces: { proxy: searchSpace(), full: searchSpace() },
    agents: AGENTS,
    ledger,
    log: silent,
    models: { proxy: 'tiny', full: 'tiny-full' },
    resultsPath: join(repo, 'results.tsv'),
    memoryEventsDir: join(state, 'events'),
    artifacts: { adaptersExperimental: join(repo, 'adapters-experimental'), logs: join(repo, 'logs'), stableAdapter: join(state, 'stable') },
    now: () => new Date('2026-12-01T02:00:00Z'),
  };
  return { repo, deps, meter, before: await ledger.head() };
}

const plan = () => planExperiment(env.deps, 'exp-1', 'proxy', 'proxy', new AbortController().signal);
const trainPy = () => readFileSync(join(env.repo, 'python', 'train.py'), 'utf8');
const toolInput = (name: string) => (fixture(name).body as { content: Array<{ input: { hypothesis: string } }> }).content[0]!.input;

/** What Python itself reads from the committed file: the ground truth for "what ends up in train.py". */
function pythonValue(name: string): unknown {
  const code = `import ast, json, sys\nt = ast.parse(open(sys.argv[1], encoding='utf-8').read())\nfor n in t.body:\n    if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id == sys.argv[2]:\n        print(json.dumps(ast.literal_eval(n.value)))`;
  return JSON.parse(execFileSync(venvPython(), ['-c', code, join(env.repo, 'python', 'train.py'), name]).toString());
}

function expectNothingWritten(): void {
  expect(gitIn(env.repo, 'rev-parse', 'HEAD').trim()).toBe(env.before);
  expect(gitIn(env.repo, 'status', '--porcelain', '--untracked-files=no')).toBe('');
  expect(readResults(env.deps.resultsPath).rows).toEqual([]);
}

describe('Claude planner against a local Messages API', () => {
  it('valid proposal: one cached, forced, strict tool call; the section and only the section is committed', async () => {
    fake.enqueue(fixture('valid-proposal'));
    const step = await plan();
    expect(step.kind).toBe('committed');
    const req = fake.requests[0]!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers['anthropic-version']).toBeTruthy();
    expect(req.body.model).toBe('claude-haiku-5-5');
    expect(req.body.system[0].cache_control).toEqual({ type: 'ephemeral' });
    expect(req.body.system[0].text).toContain('# program.md');
    expect(req.body.tool_choice).toEqual({ type: 'tool', name: 'propose_experiment', disable_parallel_tool_use: true });
    expect(req.body.tools[0]).toMatchObject({ name: 'propose_experiment', strict: true });
    expect(req.body.messages[0].content).toContain('Current AGENT MODIFIABLE section');

    expect(pythonValue('LORA_RANK')).toBe(48);
    expect(pythonValue('EXPERIMENT_HYPOTHESIS')).toBe(toolInput('valid-proposal').hypothesis);
    expect(pythonValue('LEARNING_RATE')).toBe(5e-6);
    const head = gitIn(env.repo, 'rev-parse', 'HEAD').trim();
    expect(head).not.toBe(env.before);
    expect(gitIn(env.repo, 'show', '--name-only', '--format=', head).trim()).toBe('python/train.py');
    // Only lines of the section change (the writer may respell an unchanged value, e.g. 5e-06 as 5e-6) ...
    const diff = gitIn(env.repo, 'diff', '-U0', env.before, head);
    const names = new Set([...specs.map((s) => s.name), 'EXPERIMENT_HYPOTHESIS']);
    const touched = diff.split('\n').filter((l) => /^[-+][^-+]/.test(l)).map((l) => l.slice(1).split(' ')[0]!);
    expect(touched.every((n) => names.has(n))).toBe(true);
    // ... and by value only the proposed parameter and the hypothesis differ.
    const before = readSection(gitIn(env.repo, 'show', `${env.before}:python/train.py`), AGENTS) as unknown as Record<string, unknown>;
    const after = readSection(trainPy(), AGENTS) as unknown as Record<string, unknown>;
    expect(Object.keys(after).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]))).toEqual(['LORA_RANK', 'EXPERIMENT_HYPOTHESIS']);
    const message = gitIn(env.repo, 'log', '-1', '--format=%B');
    expect(message).toContain(toolInput('valid-proposal').hypothesis);
    expect(message).toContain('Changes: LORA_RANK 32 -> 48');
    expect(message).toContain('Autoresearch-Experiment: exp-1');
    expect(readResults(env.deps.resultsPath).rows).toEqual([]);
    const expectedCost = costUsd({ input_tokens: 1184, output_tokens: 143, cache_creation_input_tokens: 2761, cache_read_input_tokens: 0 }, PRICE);
    expect(await env.meter.spent()).toBeCloseTo(expectedCost, 12);
  });

  it('out-of-range proposal: one corrective retry with the errors as an is_error tool result, then the corrected section', async () => {
    fake.enqueue(fixture('out-of-range'), fixture('corrected-proposal'));
    const step = await plan();
    expect(step.kind).toBe('committed');
    const retry = fake.requests[1]!.body.messages;
    expect(retry).toHaveLength(3);
    expect(retry[1].role).toBe('assistant');
    const result = retry[2].content[0];
    expect(result).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_01Cr8YwU0dL3nO5qS7tX9zAb', is_error: true });
    expect(result.content).toMatch(/LORA_RANK: expected a whole number from 8 to 64/);
    expect(result.content).toMatch(/LEARNING_RATE: expected a number from 0.000001 to 0.0001|LEARNING_RATE: expected a number from 1e-6 to 0.0001/);
    expect(pythonValue('LORA_RANK')).toBe(64);
    expect(pythonValue('LEARNING_RATE')).toBe(2.5e-6);
  });

  it('wrong types twice: logged as invalid with the reasons, nothing committed, train.py untouched', async () => {
    const source = trainPy();
    fake.enqueue(fixture('wrong-type'), fixture('wrong-type'));
    const step = await plan();
    expect(step.kind).toBe('invalid');
    expect(fake.requests).toHaveLength(2);
    expect(gitIn(env.repo, 'rev-parse', 'HEAD').trim()).toBe(env.before);
    expect(trainPy()).toBe(source);
    const rows = readResults(env.deps.resultsPath).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ experimentId: 'exp-1', result: 'invalid', commit: null, score: null, hypothesis: toolInput('wrong-type').hypothesis, proposer: 'claude' });
    expect(rows[0]!.reasons[0]).toMatch(/rejected twice: .*ITERS: expected a whole number/);
    expect(rows[0]!.reasons[0]).toMatch(/DROPOUT: expected a number/);
    expect(readdirSync(env.deps.memoryEventsDir)).toEqual(['autoresearch-exp-1.md']);
  });

  it('hostile hypothesis: quotes, triple quotes, tabs, CR/LF and backslashes reach train.py, git and Python intact', async () => {
    fake.enqueue(fixture('hostile-hypothesis'));
    expect((await plan()).kind).toBe('committed');
    const hypothesis = toolInput('hostile-hypothesis').hypothesis;
    expect(pythonValue('EXPERIMENT_HYPOTHESIS')).toBe(hypothesis.trim());
    expect(readSection(trainPy(), AGENTS).EXPERIMENT_HYPOTHESIS).toBe(hypothesis.trim());
    expect(pythonValue('DROPOUT')).toBe(0.02);
    expect(gitIn(env.repo, 'log', '-1', '--format=%B')).toContain(hypothesis.trim());
    expect(gitIn(env.repo, 'show', '--name-only', '--format=', 'HEAD').trim()).toBe('python/train.py');
  });

  it('429 with retry-after: the SDK waits as told and the retry succeeds', async () => {
    fake.enqueue(fixture('error-429'), fixture('valid-proposal'));
    const started = Date.now();
    expect((await plan()).kind).toBe('committed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.requests).toHaveLength(2);
    expect(pythonValue('LORA_RANK')).toBe(48);
  });

  it('529 overloaded: backs off and retries; past the bound, planning stops for the night with the reason', async () => {
    fake.enqueue(fixture('error-529'), fixture('valid-proposal'));
    expect((await plan()).kind).toBe('committed');
    await fake.stop();
    fake = new FakeAnthropic(KEY);
    await fake.start();
    env = await setup(KEY, 2);
    fake.enqueue(fixture('error-529'), fixture('error-529'), fixture('error-529'));
    const step = await plan();
    expect(step).toMatchObject({ kind: 'stop' });
    expect(step.kind === 'stop' && step.reason).toMatch(/unavailable after 2 retries \(529 overloaded_error: Overloaded \(request req_/);
    expect(fake.requests).toHaveLength(3);
    expectNothingWritten();
  });

  it('401: stops the run with a clear message naming the key; nothing written', async () => {
    await fake.stop();
    fake = new FakeAnthropic(KEY);
    await fake.start();
    env = await setup('sk-ant-wrong', 2);
    const error = await plan().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlannerFatalError);
    expect((error as Error).message).toMatch(/rejected ANTHROPIC_API_KEY \(401 authentication_error: invalid x-api-key \(request req_.*planner.kind: offline/);
    expect(fake.requests).toHaveLength(0);
    expectNothingWritten();
  });

  it('cost cap reached: no request is made and planning stops', async () => {
    await fake.stop();
    fake = new FakeAnthropic(KEY);
    await fake.start();
    env = await setup(KEY, 0);
    fake.enqueue(fixture('valid-proposal'));
    const step = await plan();
    expect(step.kind === 'stop' && step.reason).toMatch(/reached the cap of \$0/);
    expect(fake.requests).toHaveLength(0);
    expect(fake.remaining).toBe(1);
    expect(existsSync(env.deps.resultsPath)).toBe(false);
  });
});
