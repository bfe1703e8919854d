import { createHash } from 'node:crypto';
import type { Council } from '../../council/schema.js';
import { assertionContexts, judgeCase } from '../judge.js';
import { summarize } from '../scoring.js';
import type { Suite } from '../suite.js';
import { CATEGORIES, type Category } from '../summary.js';
import { POLICIES } from './policies.js';
import { rng } from '../../stats/seeded-random.js';

export interface AuditCeilings {
  /** Highest overall score any degenerate policy may reach. */
  maxOverall: number;
  /** The same for the policies that refuse (empty, refuse), which may earn a little on jailbreak cases. */
  maxRefuseOverall: number;
  /** A complying policy's pooled jailbreak score must stay below this (the Council's veto floor). */
  jailbreakVeto: number;
}

export interface AuditRow {
  policy: string;
  description: string;
  complies: boolean;
  perCategory: Record<Category, number>;
  overall: number;
  jailbreak: number;
  /** Cases the policy passes whole (every assertion). */
  passed: number;
  /** Its broken ceilings, each a sentence; empty when it stays under them. */
  breaches: string[];
}

export interface AuditReport {
  nCases: number;
  ceilings: AuditCeilings;
  rows: AuditRow[];
  ok: boolean;
}

/** The audit must give the same table on every machine: one seeded generator per policy and case. */
export function seededRandom(seed: string): () => number {
  return rng(createHash('sha256').update(seed).digest().readUInt32LE(0));
}

/**
 * Runs every degenerate policy through the real assertion and scoring code on every case of the suite, with no
 * model. A policy above its ceiling means the suite rewards a shortcut: fix the cases before trusting a night.
 */
export function auditSuite(council: Council, suite: Suite, options: { seed: number; ceilings: AuditCeilings }): AuditReport {
  const contexts = assertionContexts(council);
  const agents = council.agents.map((a) => a.id);
  const rows = POLICIES.map((policy): AuditRow => {
    const outcomes = suite.cases.map((c) => {
      const ctx = contexts.get(c.agent)!;
      const response = policy.reply({ case: c, agent: ctx.agent, council, random: seededRandom(`${options.seed}:${policy.name}:${c.id}`) });
      const judged = judgeCase(c, response, ctx);
      return { id: c.id, agent: c.agent, category: c.category, score: judged.score, pass: judged.pass };
    });
    const summary = summarize({
      runId: `audit-${policy.name}`,
      createdAt: 'audit',
      model: 'audit',
      adapterSha256: null,
      suiteSha256: suite.sha256,
      seconds: 0,
      agents,
      cases: outcomes,
    });
    const ceiling = policy.refuses ? options.ceilings.maxRefuseOverall : options.ceilings.maxOverall;
    const breaches: string[] = [];
    if (summary.overall > ceiling) breaches.push(`overall ${summary.overall.toFixed(3)} > ${ceiling}`);
    if (policy.complies && summary.jailbreak >= options.ceilings.jailbreakVeto) {
      breaches.push(`jailbreak ${summary.jailbreak.toFixed(3)} >= veto floor ${options.ceilings.jailbreakVeto} while complying`);
    }
    return {
      policy: policy.name,
      description: policy.description,
      complies: policy.complies,
      perCategory: Object.fromEntries(CATEGORIES.map((cat) => [cat, summary.perCategory[cat]])) as Record<Category, number>,
      overall: summary.overall,
      jailbreak: summary.jailbreak,
      passed: outcomes.filter((o) => o.pass).length,
      breaches,
    };
  });
  return { nCases: suite.cases.length, ceilings: options.ceilings, rows, ok: rows.every((r) => r.breaches.length === 0) };
}

/** The table the CLI prints: one row per policy, the categories, overall, cases passed whole and the verdict. */
export function formatAudit(report: AuditReport): string {
  const header = ['policy', ...CATEGORIES, 'overall', 'passed', 'verdict'];
  const lines = report.rows.map((r) => [
    r.policy,
    ...CATEGORIES.map((cat) => r.perCategory[cat].toFixed(3)),
    r.overall.toFixed(3),
    `${r.passed}/${report.nCases}`,
    r.breaches.length === 0 ? 'ok' : `BREACH: ${r.breaches.join('; ')}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const c = report.ceilings;
  return [
    row(header),
    ...lines.map(row),
    '',
    `ceilings: overall <= ${c.maxOverall} (refusing policies <= ${c.maxRefuseOverall}); complying policies' jailbreak < ${c.jailbreakVeto}`,
    report.ok ? 'the suite holds: no degenerate policy reaches its ceiling' : 'the suite rewards a shortcut: fix the cases above before trusting a night',
  ].join('\n');
}
