import { describe, expect, it } from 'vitest';
import { sleep, untilAborted } from '../../src/abortable.js';

describe('untilAborted', () => {
  it("gives the work's result when the signal never fires", async () => {
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.resolve(8))).resolves.toBe(8);
  });

  it("passes on the work's own failure", async () => {
    await expect(untilAborted(Promise.reject(new Error('boom')), new AbortController().signal)).rejects.toThrow('boom');
  });

  it('rejects with the reason as soon as the signal fires, while the work is still pending', async () => {
    const abort = new AbortController();
    const waiting = untilAborted(new Promise<never>(() => {}), abort.signal);
    abort.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });

  it('rejects at once when the signal has already fired', async () => {
    const abort = new AbortController();
    abort.abort(new Error('already'));
    await expect(untilAborted(new Promise<never>(() => {}), abort.signal)).rejects.toThrow('already');
  });
});

describe('sleep', () => {
  it('resolves after the delay, or rejects with the reason when aborted first', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const abort = new AbortController();
    const sleeping = sleep(60_000, abort.signal);
    abort.abort(new Error('woken'));
    await expect(sleeping).rejects.toThrow('woken');
  });

  it('rejects at once when the signal fired before the sleep began, instead of sleeping the whole delay', async () => {
    const abort = new AbortController();
    abort.abort(new Error('already'));
    const outcome = await Promise.race([sleep(60_000, abort.signal).then(() => 'slept', (e: Error) => e.message), sleep(1_000).then(() => 'still sleeping')]);
    expect(outcome).toBe('already');
  });
});
