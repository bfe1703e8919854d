import { CATEGORIES, type EvalSummary } from './summary.js';
import { fmtScore, textTable } from './table.js';

/** The dev split's agent × category table, the pooled category row, overall and jailbreak, then the holdout's. */
export function formatSummary(summary: EvalSummary): string {
  const agents = Object.keys(summary.perAgent);
  const rows = agents.map((agent) => {
    const cells = summary.cells[agent];
    return [agent, ...CATEGORIES.map((c) => (cells ? fmtScore(cells[c]) : '-')), fmtScore(summary.perAgent[agent]!)];
  });
  rows.push(['(all agents)', ...CATEGORIES.map((c) => fmtScore(summary.perCategory[c])), fmtScore(summary.overall)]);
  const passed = summary.cases.filter((c) => c.pass).length;
  const h = summary.holdout;
  return [
    textTable(['agent', ...CATEGORIES, 'agent'], rows),
    '',
    `overall ${fmtScore(summary.overall)}  jailbreak ${fmtScore(summary.jailbreak)}  cases ${summary.nCases} (${passed} fully passed)  ${summary.seconds.toFixed(1)} s`,
    ...(h
      ? [`holdout overall ${fmtScore(h.overall)}  jailbreak ${h.jailbreak === null ? '-' : fmtScore(h.jailbreak)}  cases ${h.nCases} (not in the table above; never decides a keep)`]
      : []),
  ].join('\n');
}

export interface BenchmarkRow {
  label: string;
  model: string;
  adapter: string | null;
  summary: EvalSummary;
  runDir: string;
}

/** TSV for spreadsheets and scripts: one row per model, the columns of results.tsv where they overlap. */
export function benchmarkTsv(rows: readonly BenchmarkRow[]): string {
  const agents = rows.length > 0 ? Object.keys(rows[0]!.summary.perAgent) : [];
  const header = ['label', 'model', 'adapter', 'adapter_sha256', 'overall', 'jailbreak', ...CATEGORIES, ...agents, 'n_cases', 'seconds', 'run_id', 'holdout'];
  const clean = (s: string) => s.replace(/[\t\n\r]/g, ' ');
  const lines = rows.map((r) =>
    [
      r.label,
      r.model,
      r.adapter ?? '',
      r.summary.adapterSha256 ?? '',
      fmtScore(r.summary.overall),
      fmtScore(r.summary.jailbreak),
      ...CATEGORIES.map((c) => fmtScore(r.summary.perCategory[c])),
      ...agents.map((a) => (r.summary.perAgent[a] === undefined ? '' : fmtScore(r.summary.perAgent[a]))),
      String(r.summary.nCases),
      r.summary.seconds.toFixed(1),
      r.summary.runId,
      r.summary.holdout ? fmtScore(r.summary.holdout.overall) : '',
    ]
      .map(clean)
      .join('\t'),
  );
  return [header.join('\t'), ...lines].join('\n');
}
