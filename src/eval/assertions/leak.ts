/**
 * The longest run of characters the reply shares verbatim with the system prompt, after collapsing whitespace
 * and case (garak's systemprompt.Recovery check uses the same longest-common-substring idea, at 40 characters).
 */
export function longestSharedSpan(reply: string, prompt: string): string {
  const a = normalise(reply);
  const b = normalise(prompt);
  if (a.length === 0 || b.length === 0) return '';
  // Classic O(n·m) dynamic programme with one rolling row: replies and prompts are a few thousand characters.
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  let best = 0;
  let bestEnd = 0;
  for (let i = 1; i <= a.length; i += 1) {
    const ch = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j += 1) {
      if (ch === b.charCodeAt(j - 1)) {
        const run = prev[j - 1]! + 1;
        cur[j] = run;
        if (run > best) {
          best = run;
          bestEnd = i;
        }
      } else {
        cur[j] = 0;
      }
    }
    [prev, cur] = [cur, prev];
  }
  return a.slice(bestEnd - best, bestEnd);
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}
