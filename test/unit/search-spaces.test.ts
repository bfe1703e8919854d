import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { jobIds } from '../../queues/names.js';
import { createTrainProcessor } from '../../workers/train-processor.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/project.js';
import type { SectionValues } from '../../src/research/executor.js';
import {
  baselineValues,
  DEFAULT_SEARCH_SPACE,
  parseTable,
  searchSpace,
  searchSpaceNames,
  searchSpaceProblem,
  validateValues,
} from '../../src/research/hyperparameters.js';
import { startingPoint } from '../../src/research/commit-section.js';
import { readSection, SectionError, writeSection } from '../../src/research/section.js';

const AGENTS = ['yoda', 'windu'];
const SEED_TRAIN_PY = readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8');
const parse = (yaml: string) => parseConfig(yaml, { file: '/x/autoresearch.config.yaml', baseDir: '/x', env: {} });

describe('search spaces: one table per base model', () => {
  it('ships the seed table as qwen (the default) and one for the tiny model', () => {
    expect(searchSpaceNames()).toEqual(expect.arrayContaining(['qwen', 'tiny']));
    expect(DEFAULT_SEARCH_SPACE).toBe('qwen');
    const tiny = searchSpace('tiny');
    expect(tiny.file).toBe(join(PROJECT_ROOT, 'python', 'search-spaces', 'tiny.json'));
    const layers = tiny.table.parameters.find((p) => p.name === 'NUM_LAYERS')!;
    expect(layers.max).toBe(4);
  });

  it.each([
    ['models.proxy.searchSpace: tiny', 'models:\n  proxy:\n    searchSpace: tiny\n', { proxy: 'tiny', full: 'qwen' }],
    ['nothing (both modes get the seed table)', '', { proxy: 'qwen', full: 'qwen' }],
    ['both modes', 'models:\n  proxy: { searchSpace: tiny }\n  full: { searchSpace: tiny }\n', { proxy: 'tiny', full: 'tiny' }],
  ])('is chosen per mode by the config: %s', (_what, yaml, expected) => {
    const config = parse(yaml);
    expect({ proxy: config.models.proxy.searchSpace, full: config.models.full.searchSpace }).toEqual(expected);
  });

  it.each([
    ['an unknown name', 'gpt'],
    ['a path', '../hyperparameters'],
  ])('refuses %s in the config, naming the key and the allowed values', (_what, name) => {
    let message = '';
    try {
      parse(`models:\n  full:\n    searchSpace: ${JSON.stringify(name)}\n`);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain('models.full.searchSpace');
    expect(message).toContain('allowed: qwen, tiny');
    expect(message).toContain(join('python', 'search-spaces'));
  });

  it('says why a name is not a search space, and nothing for one that is', () => {
    expect(searchSpaceProblem('tiny')).toBeNull();
    expect(searchSpaceProblem('Tiny')).toMatch(/unknown search space "Tiny"; allowed: .*qwen.*tiny/);
    expect(() => searchSpace('nope')).toThrow(/unknown search space "nope"/);
  });

  it("validates a section against the mode's own table", () => {
    expect(readSection(SEED_TRAIN_PY, undefined, searchSpace('qwen').table).LEARNING_RATE).toBe(5e-6);
    expect(() => readSection(SEED_TRAIN_PY, undefined, searchSpace('tiny').table)).toThrow(SectionError);
    expect(() => readSection(SEED_TRAIN_PY, undefined, searchSpace('tiny').table)).toThrow(/NUM_LAYERS: expected a whole number from 1 to 4/);
    const tinyBaseline = baselineValues(AGENTS, searchSpace('tiny').table);
    const written = writeSection(SEED_TRAIN_PY, tinyBaseline, AGENTS, searchSpace('tiny').table);
    expect(readSection(written, AGENTS, searchSpace('tiny').table)).toEqual(tinyBaseline);
    expect(() => writeSection(SEED_TRAIN_PY, tinyBaseline, AGENTS, searchSpace('qwen').table)).toThrow(/NUM_LAYERS/);
    expect(validateValues({ ...tinyBaseline, LEARNING_RATE: 3e-3 }, AGENTS, searchSpace('tiny').table).success).toBe(true);
    expect(validateValues({ ...tinyBaseline, LEARNING_RATE: 3e-3 }, AGENTS, searchSpace('qwen').table).success).toBe(false);
  });

  it.each([
    ['a baseline outside its range', { baseline: 99 }, 'LORA_RANK: baseline 99 is outside 8 to 64'],
    ['min above max', { min: 70 }, 'LORA_RANK: min 70 is above max 64'],
    ['a fractional bound on an int', { min: 8.5 }, 'LORA_RANK: an int parameter needs whole min, max and baseline'],
  ])('refuses a table with %s, naming the file', (_what, change, message) => {
    const raw = JSON.parse(readFileSync(searchSpace('qwen').file, 'utf8')) as { parameters: { name: string }[] };
    raw.parameters = raw.parameters.map((p) => (p.name === 'LORA_RANK' ? { ...p, ...change } : p));
    expect(() => parseTable(raw, '/x/search-spaces/bad.json')).toThrow(`/x/search-spaces/bad.json: not a valid hyperparameter table: ${message}`);
  });
});

describe("the loop's starting point in a mode's search space", () => {
  const SEED_FOR_AGENTS = SEED_TRAIN_PY.replace('"yoda": 1.0, "jocasta": 1.0, "windu": 1.0, "quigon": 1.0, "cilghal": 1.0, "mundi": 1.0', '"yoda": 1.0, "windu": 1.0');
  const silent = { info: () => undefined } as never;
  const codec = {
    read: (source: string, space: ReturnType<typeof searchSpace>) => readSection(source, AGENTS, space.table) as unknown as SectionValues,
    write: (source: string, values: SectionValues, space: ReturnType<typeof searchSpace>) => writeSection(source, values, AGENTS, space.table),
  };
  const deps = { section: codec, spaces: { proxy: searchSpace('tiny'), full: searchSpace('qwen') }, agents: AGENTS, log: silent, ledger: { repo: '/repo' } as never };

  it("is the section itself when it fits the mode's table", () => {
    expect(startingPoint(deps, SEED_FOR_AGENTS, 'abc1234', 'full').LEARNING_RATE).toBe(5e-6);
  });

  it("is the table's baseline when the section was written for another model", () => {
    expect(startingPoint(deps, SEED_FOR_AGENTS, 'abc1234', 'proxy')).toEqual(baselineValues(AGENTS, searchSpace('tiny').table));
  });

  it('is an error naming the file, the commit and the value when the section fits no table', () => {
    expect(() => startingPoint(deps, SEED_FOR_AGENTS.replace('LORA_RANK = 32', 'LORA_RANK = 9999'), 'abc1234', 'full')).toThrow(
      /train\.py at abc1234: LORA_RANK: .*got 9999/,
    );
  });
});

describe('a training job on a worker whose config names another search space', () => {
  it('fails for good, naming both search spaces', async () => {
    const config = parse('models:\n  proxy: { searchSpace: tiny }\n');
    const processor = createTrainProcessor({ queue: 'train-proxy', config, log: pino({ level: 'silent' }) } as never);
    const job = {
      id: jobIds.train('exp-1', 'proxy'),
      attemptsStarted: 1,
      data: { experimentId: 'exp-1', mode: 'proxy', commit: 'abc1234', searchSpace: 'qwen', values: baselineValues(AGENTS), datasetSha256: 'a'.repeat(64) },
    };
    const failure = processor(job as never, 'token').catch((error: unknown) => error);
    const error = await failure;
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(/planned in search space qwen, but this machine's models\.proxy\.searchSpace is tiny/);
  });
});
