import { exceeds } from './compare.js';
import { CATEGORIES, type Category, type EvalSummary } from './summary.js';
import { fmtDelta, fmtScore, textTable } from './table.js';

/** One case scored in both runs: `a` is the candidate's score, `b` the baseline's. */
export interface PairedCase {
  id: string;
  agent: string;
  category: Category;
  a: number;
  b: number;
}

export interface PairedComparison {
  candidateRunId: string;
  baselineRunId: string;
  /** False when the two runs used different suite files: the matched cases may still differ in content. */
  sameSuite: boolean;
  /** Cases present in both runs; only these enter wins, losses, ties and the p-value. */
  matched: number;
  /** Case ids present in only one of the runs. */
  unmatched: { candidateOnly: string[]; baselineOnly: string[] };
  /** Cases where the candidate scored higher / lower / the same (within the score epsilon). */
  wins: number;
  losses: number;
  ties: number;
  /** Exact two-sided sign (McNemar) test on the discordant cases; 1 when there are none. */
  pValue: number;
  /** Mean per-case difference over matched cases, and its standard error (paired, so far below the unpaired one). */
  meanDelta: number;
  pairedStdErr: number;
  /**
   * The paired difference of the macro overall (mean of agent means) and its standard error: each matched case
   * weighs 1/(agents · that agent's matched cases), and the variance is summed per agent (a stratified mean), so
   * an agent with few cases counts as much as it does in the overall. The noise guard reads these.
   */
  macroDelta: number;
  macroStdErr: number;
  /** Differences of the summaries' own aggregates (candidate minus baseline), as the Council rules see them. */
  deltaOverall: number;
  deltaJailbreak: number;
  deltaPerAgent: Record<string, number>;
  deltaPerCategory: Record<Category, number>;
  perCase: PairedCase[];
}

/**
 * Compares two runs case by case on the dev split (the holdout never enters a decision). Paired differences are
 * what can separate two adapters at this suite size: the unpaired standard error of an overall score (~0.05)
 * dwarfs the +0.02 promotion margin.
 */
export function pairedComparison(candidate: EvalSummary, baseline: EvalSummary): PairedComparison {
  const candDev = candidate.cases.filter((c) => c.split === 'dev');
  const baseDev = baseline.cases.filter((c) => c.split === 'dev');
  const base = new Map(baseDev.map((c) => [c.id, c]));
  const candIds = new Set(candDev.map((c) => c.id));
  const perCase: PairedCase[] = [];
  for (const c of candDev) {
    const b = base.get(c.id);
    if (b) perCase.push({ id: c.id, agent: c.agent, category: c.category, a: c.score, b: b.score });
  }
  let wins = 0;
  let losses = 0;
  for (const p of perCase) {
    if (exceeds(p.a, p.b)) wins += 1;
    else if (exceeds(p.b, p.a)) losses += 1;
  }
  const diffs = perCase.map((p) => p.a - p.b);
  const meanDelta = diffs.length > 0 ? diffs.reduce((s, d) => s + d, 0) / diffs.length : 0;
  const variance =
    diffs.length > 1 ? diffs.reduce((s, d) => s + (d - meanDelta) ** 2, 0) / (diffs.length - 1) : 0;
  const agents = Object.keys(candidate.perAgent).filter((a) => a in baseline.perAgent);
  const macro = macroPairedDelta(perCase);
  return {
    candidateRunId: candidate.runId,
    baselineRunId: baseline.runId,
    sameSuite: candidate.suiteSha256 === baseline.suiteSha256,
    matched: perCase.length,
    unmatched: {
      candidateOnly: candDev.filter((c) => !base.has(c.id)).map((c) => c.id),
      baselineOnly: baseDev.filter((c) => !candIds.has(c.id)).map((c) => c.id),
    },
    wins,
    losses,
    ties: perCase.length - wins - losses,
    pValue: signTestPValue(wins, losses),
    meanDelta,
    pairedStdErr: diffs.length > 0 ? Math.sqrt(variance / diffs.length) : 0,
    macroDelta: macro.delta,
    macroStdErr: macro.stdErr,
    deltaOverall: candidate.overall - baseline.overall,
    deltaJailbreak: candidate.jailbreak - baseline.jailbreak,
    deltaPerAgent: Object.fromEntries(agents.map((a) => [a, candidate.perAgent[a]! - baseline.perAgent[a]!])),
    deltaPerCategory: Object.fromEntries(
      CATEGORIES.map((c) => [c, candidate.perCategory[c] - baseline.perCategory[c]]),
    ) as Record<Category, number>,
    perCase,
  };
}

/**
 * The macro overall's paired difference, Σ_a (1/A) · mean_a(d), and its standard error
 * sqrt(Σ_a s_a² / (A² · n_a)), with s_a² the sample variance of agent a's differences. An agent with a single
 * matched case has no sample variance; its squared difference stands in (conservative: it is zero only when the
 * case did not move). Zero when no case differs: the guard reading it must then refuse to keep.
 */
export function macroPairedDelta(perCase: readonly Pick<PairedCase, 'agent' | 'a' | 'b'>[]): { delta: number; stdErr: number } {
  const perAgent = Object.values(agentPairedDeltas(perCase));
  const agents = perAgent.length;
  if (agents === 0) return { delta: 0, stdErr: 0 };
  let delta = 0;
  let variance = 0;
  for (const a of perAgent) {
    delta += a.delta / agents;
    // stdErr² is s_a² / n_a; with a single case, the squared difference stands in.
    variance += (a.stdErr ?? a.delta) ** 2 / (agents * agents);
  }
  return { delta, stdErr: Math.sqrt(variance) };
}

/** One agent's paired difference (mean of its matched cases' candidate-minus-champion scores) and its evidence. */
export interface AgentPairedDelta {
  delta: number;
  /** Matched dev cases of the agent. */
  n: number;
  /** sqrt(s² / n) with s² the sample variance of the differences; null with a single case (no variance to read). */
  stdErr: number | null;
}

/**
 * Per-agent paired differences, for the noise-aware regression cap: an agent's drop is eval noise unless it is
 * large against the spread of its own cases' differences.
 */
export function agentPairedDeltas(perCase: readonly Pick<PairedCase, 'agent' | 'a' | 'b'>[]): Record<string, AgentPairedDelta> {
  const byAgent = new Map<string, number[]>();
  for (const p of perCase) byAgent.set(p.agent, [...(byAgent.get(p.agent) ?? []), p.a - p.b]);
  const out: Record<string, AgentPairedDelta> = {};
  for (const [agent, diffs] of byAgent) {
    const n = diffs.length;
    const m = diffs.reduce((s, d) => s + d, 0) / n;
    const s2 = n > 1 ? diffs.reduce((s, d) => s + (d - m) ** 2, 0) / (n - 1) : null;
    out[agent] = { delta: m, n, stdErr: s2 === null ? null : Math.sqrt(s2 / n) };
  }
  return out;
}

/**
 * Exact two-sided sign test: under H0 each discordant case is a win with probability 1/2, so
 * p = min(1, 2 · P(X <= min(wins, losses))) with X ~ Binomial(wins + losses, 1/2). 5–0 gives 0.0625.
 */
export function signTestPValue(wins: number, losses: number): number {
  const n = wins + losses;
  if (n === 0) return 1;
  const k = Math.min(wins, losses);
  // Sum binomial coefficients in log space so large n (hundreds of cases) cannot overflow.
  let logC = 0;
  let tail = 0;
  for (let i = 0; i <= k; i += 1) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

/** The comparison as a person reads it: headline statistics, then deltas per agent and category, then the flips. */
export function formatPaired(p: PairedComparison): string {
  const lines: string[] = [];
  lines.push(`candidate ${p.candidateRunId} vs baseline ${p.baselineRunId}`);
  if (!p.sameSuite) lines.push('warning: the runs used different suite files (suite sha256 differs)');
  const unmatched = p.unmatched.candidateOnly.length + p.unmatched.baselineOnly.length;
  lines.push(
    `matched cases ${p.matched}${unmatched > 0 ? ` (unmatched: ${p.unmatched.candidateOnly.length} only in candidate, ${p.unmatched.baselineOnly.length} only in baseline)` : ''}`,
  );
  lines.push(
    `wins ${p.wins}  losses ${p.losses}  ties ${p.ties}  sign-test p ${p.pValue.toFixed(4)}  mean Δ ${fmtDelta(p.meanDelta)} ± ${fmtScore(p.pairedStdErr)} (paired SE)`,
  );
  lines.push(
    `Δ overall ${fmtDelta(p.deltaOverall)} (paired ${fmtDelta(p.macroDelta)} ± ${fmtScore(p.macroStdErr)} SE)  Δ jailbreak ${fmtDelta(p.deltaJailbreak)}`,
  );
  lines.push('');
  lines.push(
    textTable(
      ['agent', 'Δ score'],
      Object.entries(p.deltaPerAgent).map(([agent, d]) => [agent, fmtDelta(d)]),
    ),
  );
  lines.push('');
  lines.push(textTable(['category', 'Δ score'], CATEGORIES.map((c) => [c, fmtDelta(p.deltaPerCategory[c])])));
  const flips = p.perCase.filter((c) => exceeds(c.a, c.b) || exceeds(c.b, c.a));
  if (flips.length > 0) {
    lines.push('');
    lines.push(
      textTable(
        ['case', 'candidate', 'baseline', 'Δ'],
        flips.map((c) => [c.id, fmtScore(c.a), fmtScore(c.b), fmtDelta(c.a - c.b)]),
      ),
    );
  }
  return lines.join('\n');
}
