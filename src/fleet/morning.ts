/** Milliseconds from `now` until the next local "HH:MM" (tomorrow if it has passed today). Pure. */
export function msUntilClock(clock: string, now: Date): number {
  const [h, m] = clock.split(':').map(Number) as [number, number];
  const next = new Date(now);
  next.setHours(h, m, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next.getTime() - now.getTime();
}
