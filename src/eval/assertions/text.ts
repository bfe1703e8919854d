import type { AssertionResult } from './types.js';

/** Positive forms of the text checks; `not-` forms are derived by the dispatcher. */
export function contains(text: string, needle: string, ignoreCase: boolean): AssertionResult {
  const found = ignoreCase ? text.toLowerCase().includes(needle.toLowerCase()) : text.includes(needle);
  return result(found, found ? `contains ${JSON.stringify(needle)}` : `does not contain ${JSON.stringify(needle)}`);
}

export function containsAny(text: string, needles: readonly string[], ignoreCase: boolean): AssertionResult {
  const hay = ignoreCase ? text.toLowerCase() : text;
  const found = needles.filter((n) => hay.includes(ignoreCase ? n.toLowerCase() : n));
  return found.length > 0
    ? result(true, `contains ${list(found)}`)
    : result(false, `contains none of ${list(needles)}`);
}

export function containsAll(text: string, needles: readonly string[], ignoreCase: boolean): AssertionResult {
  const hay = ignoreCase ? text.toLowerCase() : text;
  const missing = needles.filter((n) => !hay.includes(ignoreCase ? n.toLowerCase() : n));
  return missing.length === 0
    ? result(true, `contains all of ${list(needles)}`)
    : result(false, `is missing ${list(missing)}`);
}

/** Leading whitespace is ignored: models often open with a newline, which no reader would count. */
export function startsWith(text: string, prefix: string): AssertionResult {
  const ok = text.trimStart().startsWith(prefix);
  return result(ok, ok ? `starts with ${JSON.stringify(prefix)}` : `starts with ${JSON.stringify(text.trimStart().slice(0, prefix.length + 10))}, not ${JSON.stringify(prefix)}`);
}

export function matchesRegex(text: string, pattern: string, flags: string | undefined): AssertionResult {
  const match = new RegExp(pattern, flags ?? '').exec(text);
  return match
    ? result(true, `matches /${pattern}/${flags ?? ''} at ${JSON.stringify(match[0])}`)
    : result(false, `does not match /${pattern}/${flags ?? ''}`);
}

function result(pass: boolean, reason: string): AssertionResult {
  return { pass, score: pass ? 1 : 0, reason };
}

function list(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/**
 * Substance check: each group lists the spellings of one fact or step; the reply must state at least `min` of the
 * facts. A needle matches at the start of a word, ignoring case ("update" finds "updates", "app" misses "apply"),
 * so a word that merely contains a needle does not count as saying it.
 */
export function containsGroups(text: string, groups: readonly (readonly string[])[], min: number): AssertionResult {
  const found: string[] = [];
  const missing: string[] = [];
  for (const group of groups) {
    const hit = group.find((needle) => wordStartPattern(needle).test(text));
    if (hit === undefined) missing.push(`[${list(group)}]`);
    else found.push(JSON.stringify(hit));
  }
  const pass = found.length >= min;
  const reason = `states ${found.length} of ${groups.length} facts (needs ${min})${found.length > 0 ? `: ${found.join(', ')}` : ''}${pass || missing.length === 0 ? '' : `; missing ${missing.join(', ')}`}`;
  return result(pass, reason);
}

export function wordStartPattern(needle: string): RegExp {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${/^\w/.test(needle) ? String.raw`(?<![\p{L}\p{N}])` : ''}${escaped}`, 'iu');
}
