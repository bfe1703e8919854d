/** Milliseconds from `now` until the next local "HH:MM" (tomorrow if it has passed today). Pure. */
export function msUntilClock(clock: string, now: Date): number {
  const [h, m] = clock.split(':').map(Number) as [number, number];
  const next = new Date(now);
  next.setHours(h, m, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next.getTime() - now.getTime();
}

/**
 * Whether GPU work may run at `now`: from `nightStart` until `morningDeadline` (local "HH:MM", the window may
 * span midnight). Equal times mean no daytime pause. Pure.
 */
export function gpuWindowOpen(nightStart: string, morningDeadline: string, now: Date): boolean {
  const start = minutesOf(nightStart);
  const end = minutesOf(morningDeadline);
  if (start === end) return true;
  const t = now.getHours() * 60 + now.getMinutes();
  return start < end ? t >= start && t < end : t >= start || t < end;
}

function minutesOf(clock: string): number {
  const [h, m] = clock.split(':').map(Number) as [number, number];
  return h * 60 + m;
}
