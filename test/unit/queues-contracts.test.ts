import { describe, expect, it } from 'vitest';
import { InvalidPayloadError, parsePayload } from '../../queues/contracts.js';
import { jobIds } from '../../queues/names.js';
import { manifestBytes, parseManifest } from '../../src/fleet/bundle.js';
import { baselineValues, searchSpace } from '../../src/research/hyperparameters.js';

const sha = 'a'.repeat(64);
const values = baselineValues(['yoda', 'windu']);
const train = { experimentId: 'exp-1', mode: 'full', commit: 'abc1234', searchSpace: 'qwen', values, datasetSha256: sha };
const tinyValues = baselineValues(['yoda', 'windu'], searchSpace('tiny').table);

describe('job payloads', () => {
  it('accepts a well-formed training job', () => {
    expect(parsePayload('train-full', train)).toEqual(train);
  });

  it.each([
    ['a path instead of a hash', { ...train, datasetSha256: '../../etc/passwd' }, 'datasetSha256'],
    ['an unknown field (a command)', { ...train, command: 'rm -rf /' }, 'command'],
    ['a colon in the id', { ...train, experimentId: 'a:b' }, 'experimentId'],
    ['an all-digit id', { ...train, experimentId: '123' }, 'experimentId'],
    ['an unknown parameter', { ...train, values: { ...values, iters: 1 } }, 'values'],
    ['a value out of range', { ...train, values: { ...values, LORA_RANK: 4096 } }, 'LORA_RANK'],
    ['a missing commit', { ...train, commit: undefined }, 'commit'],
    ['an unknown search space', { ...train, searchSpace: 'gpt' }, 'allowed: qwen, tiny'],
    ['a search space given as a path', { ...train, searchSpace: '../../etc/passwd' }, 'searchSpace'],
    ['no search space', { ...train, searchSpace: undefined }, 'searchSpace'],
    ["values from another model's search space", { ...train, values: tinyValues }, 'search space qwen'],
  ])('refuses %s, naming the field', (_what, payload, field) => {
    expect(() => parsePayload('train-full', payload)).toThrow(InvalidPayloadError);
    expect(() => parsePayload('train-full', payload)).toThrow(field);
  });

  it("checks the values against the job's own search space", () => {
    expect(parsePayload('train-proxy', { ...train, mode: 'proxy', searchSpace: 'tiny', values: tinyValues }).values.LEARNING_RATE).toBe(tinyValues.LEARNING_RATE);
    expect(() => parsePayload('train-proxy', { ...train, mode: 'proxy', searchSpace: 'tiny', values })).toThrow(/NUM_LAYERS: .*search space tiny, .*tiny\.json/);
  });

  it('refuses an eval job naming an adapter by anything but its hash', () => {
    expect(() => parsePayload('eval', { experimentId: 'e', mode: 'proxy', adapterSha256: '/tmp/adapter' })).toThrow('adapterSha256');
    expect(parsePayload('eval', { experimentId: 'e', mode: 'proxy', adapterSha256: null }).adapterSha256).toBeNull();
  });

  it('derives job ids BullMQ accepts', () => {
    expect(jobIds.train('exp-1', 'full')).toBe('exp-1-train-full');
    expect(jobIds.eval('42')).toBe('42-eval');
    expect(jobIds.route('x')).not.toContain(':');
  });
});

describe('bundle manifests', () => {
  const manifest = { bundle: 1 as const, files: [{ name: 'a.json', sha256: sha, size: 2 }, { name: 'b.bin', sha256: sha, size: 3 }] };

  it('round-trips the canonical bytes', () => {
    expect(parseManifest(manifestBytes(manifest))).toEqual(manifest);
  });

  it.each([
    ['unsorted', { bundle: 1, files: [manifest.files[1], manifest.files[0]] }],
    ['a folder in a name', { bundle: 1, files: [{ name: '../x', sha256: sha, size: 1 }] }],
    ['empty', { bundle: 1, files: [] }],
  ])('refuses a manifest that is %s', (_what, raw) => {
    expect(() => parseManifest(Buffer.from(`${JSON.stringify(raw)}\n`))).toThrow();
  });

  it('refuses a non-canonical encoding of a valid manifest', () => {
    expect(() => parseManifest(Buffer.from(JSON.stringify(manifest, null, 2)))).toThrow('canonical');
  });
});
