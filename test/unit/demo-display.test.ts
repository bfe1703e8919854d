import { describe, expect, it } from 'vitest';
import { demoNight, morningADayAway } from '../../src/demo/demo-config.js';
import { gpuWindowOpen } from '../../src/fleet/morning.js';
import { DemoDisplay } from '../../src/demo/display.js';

/** A stream that is not a terminal, as in CI or when piped: the display writes plain lines. */
function plainOutput(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (chunk: string) => chunks.push(chunk) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}

describe('the demo display without a terminal', () => {
  it('shows each idle server call with its reason', () => {
    const out = plainOutput();
    const display = new DemoDisplay(out.stream);
    display.idleEvent({ at: '', action: 'stop', detail: 'stopped (pid 42)', reason: 'eval:exp-1-eval', experimentId: null });
    display.idleEvent({ at: '', action: 'start', detail: 'mlx_lm.server with the stable adapter (exp-1)', reason: null, experimentId: 'exp-1' });
    expect(out.text()).toBe(
      '  * idle model server stop: stopped (pid 42) [eval:exp-1-eval]\n' +
        '  * idle model server start: mlx_lm.server with the stable adapter (exp-1)\n',
    );
  });

  it('prints a reply under its label, one line per line of text', () => {
    const out = plainOutput();
    new DemoDisplay(out.stream).reply('after the night (stable adapter from exp-1)', 'yoda: Who are you?', 'Yoda I am.\nHelp you I will.');
    expect(out.text()).toBe('  ? yoda: Who are you?\n  after the night (stable adapter from exp-1):\n     │ Yoda I am.\n     │ Help you I will.\n');
  });

  it('turns training progress into a few plain lines instead of a bar', () => {
    const out = plainOutput();
    const display = new DemoDisplay(out.stream);
    for (let i = 1; i <= 80; i++) {
      display.progress({ experimentId: 'exp-1', stage: 'train', mode: 'proxy', machine: 'mini', detail: { iteration: i, iters: 80, trainLoss: 2, etaSeconds: 1 } } as never);
    }
    const lines = out.text().trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines[0]).toBe('  training proxy on mini: 1/80 loss 2.000  ETA 1s');
    expect(lines.at(-1)).toContain('80/80');
  });
});

describe('the demo morning deadline', () => {
  it('is a minute before now, so the next one is a day away', () => {
    expect(morningADayAway(new Date(2026, 10, 28, 6, 59, 30))).toBe('06:58');
    expect(morningADayAway(new Date(2026, 10, 28, 0, 0, 10))).toBe('23:59');
  });

  it('opens the GPU window at once at any hour, so no job waits for idleServer.nightStart', () => {
    for (const hour of [0, 7, 12, 18, 21, 23]) {
      const now = new Date(2026, 10, 28, hour, 30);
      const night = demoNight(now);
      expect(gpuWindowOpen(night.nightStart, night.morningDeadline, now)).toBe(true);
      expect(gpuWindowOpen(night.nightStart, night.morningDeadline, new Date(now.getTime() + 3 * 3_600_000))).toBe(true);
    }
  });
});
