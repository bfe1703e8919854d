import { describe, expect, it } from 'vitest';
import { parseBuildSeed } from '../../bench/tiny-point.js';

describe('parseBuildSeed (LANDSCAPE_BUILD_SEED)', () => {
  it('falls back to the configured seed when unset or blank', () => {
    expect(parseBuildSeed(undefined, 0)).toBe(0);
    expect(parseBuildSeed('  ', 3)).toBe(3);
  });

  it('takes a whole number', () => {
    expect(parseBuildSeed('2', 0)).toBe(2);
  });

  it.each(['-1', '1.5', 'one', 'NaN'])('refuses %s and says what it wants', (raw) => {
    expect(() => parseBuildSeed(raw, 0)).toThrow(/LANDSCAPE_BUILD_SEED must be a whole number >= 0/);
  });
});
