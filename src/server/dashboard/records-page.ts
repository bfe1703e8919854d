import type { CaseRecord } from '../../eval/records.js';
import { fmtScore, html } from './html.js';
import { STYLE } from './style.js';

export interface RecordsInput {
  experimentId: string;
  records: CaseRecord[];
  /** Lines of records.jsonl that did not parse, by number. */
  badLines: number[];
  source: string;
}

const excerpt = (text: string, max = 700) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** One experiment's eval cases: what each agent answered and which assertions failed. Everything escaped. */
export function renderRecordsPage(input: RecordsInput): string {
  const failing = input.records.filter((r) => !r.pass).length;
  const rows = input.records.map(
    (r) => html`<tr class="${r.pass ? '' : 'row-vetoed'}"><td><code>${r.id}</code><div class="muted small">${r.description}</div></td><td>${r.agent}</td><td>${r.category}</td>
<td class="num">${fmtScore(r.score, 2)}</td><td>${r.pass ? 'pass' : html`<strong>fail</strong>`}</td>
<td class="text">${excerpt(r.parsed.content)}${r.parsed.toolCalls.map((t) => html`<div><code>${t.name}(${excerpt(t.arguments, 200)})</code></div>`)}</td>
<td class="text small">${r.assertions.filter((a) => !a.pass).map((a) => html`<div>${a.type}: ${a.reason}</div>`)}</td></tr>`,
  );
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.experimentId} · eval records</title><style>${STYLE}</style></head><body>
<header><h1>Eval records · ${input.experimentId}</h1><div class="muted small">${input.records.length} cases, ${failing} failing · ${input.source} · <a href="../../#exp-${input.experimentId}">back to the dashboard</a> · <a href="../../api/experiments/${encodeURIComponent(input.experimentId)}/records">JSON</a></div></header>
<main>${input.badLines.length ? html`<p class="warn">Unreadable lines skipped: ${input.badLines.join(', ')}</p>` : ''}
<section class="card wide records"><div class="scroll"><table><thead><tr><th>case</th><th>agent</th><th>category</th><th>score</th><th>result</th><th>answer</th><th>failed assertions</th></tr></thead>
<tbody>${rows}</tbody></table></div></section></main></body></html>`.value;
}
