import { describe, expect, it } from 'vitest';
import { classify, parseTrainLine, type TrainResult } from '../../src/train/events.js';
import { mlxEnv } from '../../src/train/mlx-env.js';

function result(status: TrainResult['status']): TrainResult {
  return {
    event: 'result',
    status,
    iterations: 3,
    train_loss: 2.5,
    val_loss: 2.4,
    initial_val_loss: 2.6,
    seconds: 12.5,
    tokens_per_second: 900,
    peak_memory_gb: 0.1,
    adapter_path: '/tmp/a',
    adapter_sha256: 'a'.repeat(64),
  };
}

describe('classify', () => {
  it.each([
    ['canceled wins over a printed result', { canceled: true, timedOut: false, exitCode: 0, result: result('ok') }, 'canceled'],
    ['a timeout wins over a printed result', { canceled: false, timedOut: true, exitCode: 0, result: result('budget') }, 'timeout'],
    ['exit 2 is a bad section or bad arguments', { canceled: false, timedOut: false, exitCode: 2, result: null }, 'bad-config'],
    ['ok with exit 0', { canceled: false, timedOut: false, exitCode: 0, result: result('ok') }, 'ok'],
    ['budget with exit 0', { canceled: false, timedOut: false, exitCode: 0, result: result('budget') }, 'budget'],
    ['diverged with exit 3', { canceled: false, timedOut: false, exitCode: 3, result: result('diverged') }, 'diverged'],
    ['failed with exit 1', { canceled: false, timedOut: false, exitCode: 1, result: result('failed') }, 'failed'],
    ['no result line', { canceled: false, timedOut: false, exitCode: 1, result: null }, 'crashed'],
    ['killed by a signal', { canceled: false, timedOut: false, exitCode: undefined, result: null }, 'crashed'],
    ['a result that disagrees with the exit code', { canceled: false, timedOut: false, exitCode: 1, result: result('ok') }, 'crashed'],
  ] as const)('%s', (_label, input, expected) => {
    expect(classify(input)).toBe(expected);
  });
});

describe('parseTrainLine', () => {
  it('reads progress, val and result lines', () => {
    expect(parseTrainLine('{"event":"val","iteration":0,"val_loss":3.2}')).toEqual({ event: 'val', iteration: 0, val_loss: 3.2 });
    expect(parseTrainLine(JSON.stringify(result('ok')))?.event).toBe('result');
    const progress = { event: 'progress', iteration: 4, train_loss: 2, learning_rate: 1e-5, tokens_per_second: 10, peak_memory_gb: 0.1, elapsed_seconds: 3, eta_seconds: 9 };
    expect(parseTrainLine(JSON.stringify(progress))).toEqual(progress);
  });

  it.each(['', 'Loading model...', '{not json', '{"event":"result","status":"great"}', '{"event":"progress"}'])('ignores %j', (line) => {
    expect(parseTrainLine(line)).toBeNull();
  });
});

describe('mlxEnv', () => {
  it('leaves macOS alone and honours the opt-out', () => {
    expect(mlxEnv({ PATH: '/bin' }, 'darwin').LD_PRELOAD).toBeUndefined();
    expect(mlxEnv({ PATH: '/bin', AUTORESEARCH_NO_OPENBLAS: '1' }, 'linux').LD_PRELOAD).toBeUndefined();
    expect(mlxEnv({ PATH: '/bin' }, 'darwin').PYTHONUNBUFFERED).toBe('1');
  });
});
