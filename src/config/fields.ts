import { z } from 'zod';

/**
 * Field builders whose messages say what is allowed, so a config error reads
 * `council.thresholds.jailbreakVeto: expected a number between 0 and 1, got "high"`.
 */
export function number(min: number, max: number) {
  const allowed = `expected a number between ${min} and ${max}`;
  return z.number({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed });
}

export function integer(min: number, max: number) {
  const allowed = `expected a whole number between ${min} and ${max}`;
  return z.int({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed });
}

export const fraction = () => number(0, 1);

export function text(what = 'a non-empty string') {
  return z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });
}

export function flag() {
  return z.boolean({ error: 'expected true or false' });
}

/** A command as an argument vector: never a shell string, so nothing in it is ever interpreted by a shell. */
export function argv() {
  const allowed = 'expected a command as a list of strings, e.g. ["launchctl", "kickstart", "gui/501/idle-mlx"]';
  return z.array(z.string({ error: allowed }).min(1, { error: allowed }), { error: allowed }).min(1, { error: allowed });
}

export function httpUrl() {
  const allowed = 'expected an http(s) URL such as "http://127.0.0.1:8080/health"';
  return z.url({ protocol: /^https?$/, error: allowed });
}

export function clockTime() {
  const allowed = 'expected a local time as "HH:MM" (24-hour), e.g. "07:00"';
  return z.string({ error: allowed }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: allowed });
}
