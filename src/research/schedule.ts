import type { Mode, RequestedMode } from './executor.js';

/**
 * Time arithmetic of a night. Pure: the clock is an argument. An experiment starts only when its worst-case
 * duration fits before the deadline, so a run never overruns into the morning.
 */
export interface ModeBudgets {
  proxy: { budgetSeconds: number; graceSeconds: number };
  full: { budgetSeconds: number; graceSeconds: number };
}

/** The earlier of start + maxHours and the next `until` (HH:MM local) after start. */
export function deadlineOf(start: Date, maxHours: number, until?: string): Date {
  const byHours = new Date(start.getTime() + maxHours * 3600_000);
  if (!until) return byHours;
  const [h, m] = until.split(':').map(Number) as [number, number];
  const next = new Date(start);
  next.setHours(h, m, 0, 0);
  if (next.getTime() <= start.getTime()) next.setDate(next.getDate() + 1);
  return next.getTime() < byHours.getTime() ? next : byHours;
}

/**
 * Worst-case seconds for one experiment: training budget + grace + the eval allowance. An `auto` request routed
 * to the laptop may wait out the pickup deadline and then run in proxy mode, so it costs the larger of the two.
 */
export function worstCaseSeconds(
  kind: 'baseline' | 'experiment',
  requested: RequestedMode,
  resolved: Mode,
  budgets: ModeBudgets,
  pickupDeadlineMs: number,
  evalAllowanceSeconds: number,
): number {
  if (kind === 'baseline') return evalAllowanceSeconds;
  const train = (mode: Mode) => budgets[mode].budgetSeconds + budgets[mode].graceSeconds;
  if (requested === 'auto' && resolved === 'full') {
    return Math.max(train('full'), pickupDeadlineMs / 1000 + train('proxy')) + evalAllowanceSeconds;
  }
  return train(resolved) + evalAllowanceSeconds;
}

export function fitsBefore(now: Date, deadline: Date, seconds: number): boolean {
  return now.getTime() + seconds * 1000 <= deadline.getTime();
}

/** `exp-20261201-021503` (UTC); a suffix keeps ids unique within a second. */
export function experimentId(kind: 'baseline' | 'experiment', now: Date, taken: (id: string) => boolean, mode?: Mode): string {
  const iso = now.toISOString();
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  const base = kind === 'baseline' ? `base-${mode ?? 'auto'}-${stamp}` : `exp-${stamp}`;
  if (!taken(base)) return base;
  for (let n = 2; ; n += 1) if (!taken(`${base}-${n}`)) return `${base}-${n}`;
}
