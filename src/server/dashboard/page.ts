import type { CorruptLine } from '../../research/results-format.js';
import { progressOf, type StatusView } from '../status-view.js';
import { renderChart, type ChartPoint } from './chart.js';
import { fmtDelta, fmtScore, html, type SafeHtml } from './html.js';
import { STYLE } from './style.js';
import type { TimelineView } from '../timeline-data.js';
import { renderTimelineCard } from './timeline.js';
import { renderSearch, type GroupImportance, type SearchGroup } from './search-view.js';
import type { ExperimentView, Outcome, ResultsView } from './view-model.js';

export interface PageInput {
  results: ResultsView;
  corrupt: CorruptLine[];
  /** Why results.tsv could not be read at all, if so. */
  resultsError: string | null;
  status: StatusView;
  jailbreakVeto: number;
  /** Experiment ids with eval records on disk, for the table's links. */
  withRecords: ReadonlySet<string>;
  now: Date;
  /** The night per machine; absent when the server has no job records to read. */
  timeline?: TimelineView;
  search: SearchGroup[];
  importances: ReadonlyMap<string, GroupImportance>;
}

const OUTCOME_LABEL: Record<Outcome, string> = {
  baseline: 'baseline',
  kept: 'kept',
  reverted: 'reverted',
  vetoed: 'vetoed',
  failed: 'failed',
};
const AGENT_CLASSES = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
const GROUP_CLASSES = ['g0', 'g1', 'g2', 'g3'];

function ago(iso: string | null, now: Date): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

function clock(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 16);
}

function tip(e: ExperimentView, what: string, value: number | null): string {
  return `#${e.index} ${e.row.experimentId} · ${OUTCOME_LABEL[e.outcome]} (${e.row.result}) · ${what} ${fmtScore(value)} · ${e.group}`;
}

function scorePoints(experiments: readonly ExperimentView[], pick: (e: ExperimentView) => number | null, what: string): ChartPoint[] {
  return experiments.flatMap((e) => {
    const y = pick(e);
    if (y === null || e.outcome === 'failed') return [];
    return [{ x: e.index, y, cls: `o-${e.outcome}`, tip: tip(e, what, y), cross: e.outcome === 'vetoed', hollow: e.outcome === 'reverted' }];
  });
}

function failures(experiments: readonly ExperimentView[]) {
  return experiments
    .filter((e) => e.outcome === 'failed')
    .map((e) => ({ x: e.index, tip: `#${e.index} ${e.row.experimentId} · ${e.row.result}: ${e.row.reasons.join('; ') || 'no score'}` }));
}

function legend(items: Array<{ cls: string; label: string; shape: 'dot' | 'hollow' | 'cross' | 'line' | 'dash' | 'tick' }>): SafeHtml {
  return html`<ul class="legend">${items.map((i) => html`<li><span class="sw ${i.shape} ${i.cls}"></span>${i.label}</li>`)}</ul>`;
}

function charts(input: PageInput): SafeHtml {
  const { experiments, best, agents } = input.results;
  if (experiments.length === 0) {
    return html`<section class="card empty"><h2>No experiments yet</h2><p>results.tsv is empty. The first night records a baseline, then one row per experiment.</p></section>`;
  }
  const xMax = experiments.length;
  const overall = renderChart({
    id: 'chart-overall',
    title: 'Overall score per experiment',
    xMax,
    points: scorePoints(experiments, (e) => e.row.score, 'overall'),
    lines: best.map((b, i) => ({
      points: b.points.map((p) => ({ x: p.index, y: p.score })),
      cls: `best ${GROUP_CLASSES[i % GROUP_CLASSES.length]}`,
      label: `running best (${b.group})`,
      step: true,
    })),
    failures: failures(experiments),
  });
  const jailbreak = renderChart({
    id: 'chart-jailbreak',
    title: 'Jailbreak score per experiment',
    width: 640,
    xMax,
    points: scorePoints(experiments, (e) => e.row.jailbreak, 'jailbreak'),
    lines: [],
    rules: [{ y: input.jailbreakVeto, label: `veto below ${input.jailbreakVeto}`, cls: 'veto' }],
    failures: failures(experiments),
  });
  const scored = experiments.filter((e) => e.outcome !== 'failed');
  const perAgent = renderChart({
    id: 'chart-agents',
    title: 'Score per agent',
    width: 640,
    xMax,
    points: [],
    lines: agents.map((a, i) => ({
      points: scored.flatMap((e) => (e.row.agents[a] === null || e.row.agents[a] === undefined ? [] : [{ x: e.index, y: e.row.agents[a]! }])),
      cls: `agent ${AGENT_CLASSES[i % AGENT_CLASSES.length]}`,
      label: a,
    })),
  });
  const outcomeLegend = legend([
    { cls: 'o-baseline', label: 'baseline', shape: 'dot' },
    { cls: 'o-kept', label: 'kept', shape: 'dot' },
    { cls: 'o-reverted', label: 'reverted', shape: 'hollow' },
    { cls: 'o-vetoed', label: 'vetoed', shape: 'cross' },
    { cls: 'failed', label: 'failed (no score)', shape: 'tick' },
  ]);
  return html`<section class="card wide"><h2>Overall score <small>macro mean over agents; one point per experiment</small></h2>
${outcomeLegend}${legend(best.map((b, i) => ({ cls: `best ${GROUP_CLASSES[i % GROUP_CLASSES.length]}`, label: `running best · ${b.group}`, shape: 'line' as const })))}
${overall}</section>
<div class="pair">
<section class="card"><h2>Jailbreak <small>pooled; below the line is vetoed</small></h2>${outcomeLegend}${jailbreak}</section>
<section class="card"><h2>Per agent</h2>${legend(agents.map((a, i) => ({ cls: `agent ${AGENT_CLASSES[i % AGENT_CLASSES.length]}`, label: a, shape: 'line' as const })))}${perAgent}</section>
</div>`;
}

function fleet(status: StatusView, now: Date): SafeHtml {
  const machines = status.machines.length
    ? status.machines.map(
        (m) => html`<li class="machine ${m.online ? 'online' : 'away'}"><span class="dot"></span><strong>${m.machine}</strong> <span class="muted">${m.role}</span>
<div class="muted">${m.online ? html`online since ${ago(m.since, now)}${m.processes > 1 ? ` · ${m.processes} workers` : ''}` : html`away · last seen ${ago(m.since, now)}`}</div>
${m.busy ? html`<div class="busy">busy: ${m.busy.queue} · ${m.busy.experimentId}</div>` : ''}</li>`,
      )
    : html`<li class="muted">No worker has ever reported in. Start one: <code>autoresearch worker --role mini</code></li>`;
  const running = status.running.length
    ? status.running.map((job) => {
        const p = progressOf(job.progress);
        return html`<li class="job"><div><strong>${job.experimentId ?? job.jobId}</strong> <span class="muted">${job.queue} · started ${ago(job.startedAt, now)}${job.attemptsMade > 0 ? ` · attempt ${job.attemptsMade + 1}` : ''}</span></div>
<div class="bar"><span style="width:${p ? (p.fraction * 100).toFixed(1) : '0'}%"></span></div><div class="muted small">${p ? p.label : 'no progress reported yet'}</div></li>`;
      })
    : html`<li class="muted">Nothing running.</li>`;
  const queues = status.queues.map(
    (q) => html`<tr><td>${q.name}</td>${['waiting', 'delayed', 'active', 'completed', 'failed'].map((k) => html`<td class="num">${q.counts[k] ?? 0}</td>`)}</tr>`,
  );
  return html`<div class="pair fleet">
<section class="card"><h2>Machines</h2>${status.redis === 'ok' ? '' : html`<p class="warn">Redis unreachable: ${status.redis}</p>`}<ul class="machines">${machines}</ul></section>
<section class="card"><h2>Running</h2><ul class="jobs">${running}</ul>
<table class="queues"><thead><tr><th>queue</th><th>waiting</th><th>delayed</th><th>active</th><th>done</th><th>failed</th></tr></thead><tbody>${queues}</tbody></table>
<p class="small"><a href="queues">Queues in bull-board →</a></p></section></div>`;
}

/** The reasons that decided the row stay visible; rules that passed fold away, so 200 rows stay scannable. */
const DECISIVE = /\bFAIL(ED|S)?\b|crash|error|time(d )?out|invalid|NaN/i;

function reasonsCell(reasons: readonly string[]): SafeHtml {
  if (reasons.length === 0) return html``;
  const decisive = reasons.filter((r) => DECISIVE.test(r));
  const rest = reasons.filter((r) => !DECISIVE.test(r));
  if (decisive.length === 0 && reasons.length === 1) return html`<ul><li>${reasons[0]}</li></ul>`;
  const folded = rest.length
    ? html`<details><summary>${decisive.length ? `${rest.length} more` : `all ${rest.length} passed`}</summary><ul>${rest.map((x) => html`<li>${x}</li>`)}</ul></details>`
    : '';
  return html`${decisive.length ? html`<ul>${decisive.map((x) => html`<li>${x}</li>`)}</ul>` : ''}${folded}`;
}

function deltaSpan(d: number | null, digits: number): SafeHtml | '' {
  if (d === null) return '';
  const shown = fmtDelta(d, digits);
  const cls = shown.startsWith('±') ? 'zero' : d < 0 ? 'neg' : 'pos';
  return html`<span class="d ${cls}">${shown}</span>`;
}

function table(input: PageInput): SafeHtml {
  const { experiments, agents, best } = input.results;
  if (experiments.length === 0) return html``;
  const manyGroups = best.length > 1;
  const rows = [...experiments].reverse().map((e) => {
    const r = e.row;
    const agentCells = agents.map((a) => {
      const d = e.agentDeltas[a] ?? null;
      return html`<td class="num agent-cell" title="${a}: ${fmtScore(r.agents[a])} ${fmtDelta(d)}">${fmtScore(r.agents[a], 2)}${deltaSpan(d, 2)}</td>`;
    });
    const params = r.parameters ? JSON.stringify(r.parameters) : '';
    return html`<tr id="exp-${r.experimentId}" class="row-${e.outcome}" data-result="${r.result}" data-experiment="${r.experimentId}">
<td class="num">${e.index}</td>
<td class="exp"><div class="id">${r.experimentId}</div><div class="muted small">${clock(r.timestamp)}${manyGroups ? html`<br>${e.group}` : ''}</div></td>
<td><span class="badge o-${e.outcome}">${r.result}</span>${r.proposer ? html`<div class="muted small proposer">${r.proposer}</div>` : ''}</td>
<td class="num">${fmtScore(r.score)}${deltaSpan(e.scoreDelta, 3)}</td>
<td class="num${r.jailbreak !== null && r.jailbreak < input.jailbreakVeto ? ' below' : ''}">${fmtScore(r.jailbreak)}${deltaSpan(e.jailbreakDelta, 3)}</td>
<td class="num holdout" title="holdout overall: never decides a keep, never shown to a planner">${fmtScore(r.holdout)}${deltaSpan(e.holdoutDelta, 3)}</td>
${agentCells}
<td class="num">${r.p === null ? '' : r.p < 0.001 ? '<0.001' : r.p.toFixed(3)}${r.wins !== null ? html`<div class="muted small">${r.wins}W / ${r.losses ?? 0}L</div>` : ''}</td>
<td class="text"><div class="hyp">${r.hypothesis || html`<span class="muted">(none)</span>`}</div>${params ? html`<details><summary>parameters</summary><code>${params}</code></details>` : ''}</td>
<td class="text reasons">${reasonsCell(r.reasons)}</td>
<td class="eval">${input.withRecords.has(r.experimentId) ? html`<a href="experiments/${encodeURIComponent(r.experimentId)}/records">records</a>` : html`<span class="muted">–</span>`}</td>
</tr>`;
  });
  return html`<section class="card wide"><h2>Experiments <small>newest first; deltas against the champion of the same mode and model; overall, jailbreak and agents are the dev split, which decides</small></h2>
<div class="scroll"><table class="experiments"><thead><tr><th>#</th><th>experiment</th><th>decision</th><th>overall</th><th>jailbreak</th><th class="holdout" title="overall on the holdout split: shown here, never used to decide and never sent to a planner">holdout</th>${agents.map((a) => html`<th class="agent-cell">${a}</th>`)}<th>p</th><th>hypothesis</th><th>reasons</th><th>eval</th></tr></thead>
<tbody>${rows}</tbody></table></div></section>`;
}

export function renderDashboard(input: PageInput): string {
  const { counts, experiments, best } = input.results;
  const champions = best.map((b) => html`<span class="chip">champion ${b.group}: <strong>${fmtScore(b.points.at(-1)?.score)}</strong></span>`);
  const problems = [
    input.resultsError ? html`<p class="warn">results.tsv could not be read: ${input.resultsError}</p>` : '',
    input.corrupt.length
      ? html`<p class="warn">results.tsv has ${input.corrupt.length} unreadable line(s), skipped: ${input.corrupt.slice(0, 5).map((c) => `line ${c.line} (${c.reason})`).join('; ')}</p>`
      : '',
  ];
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>council-autoresearch · ${experiments.length} experiments</title><style>${STYLE}</style></head>
<body><header><h1>council-autoresearch</h1>
<div class="chips"><span class="chip">${experiments.length} experiments</span>
${(['kept', 'reverted', 'vetoed', 'failed'] as const).map((o) => html`<span class="chip o-${o}-chip">${counts[o]} ${o}</span>`)}${champions}</div>
<div class="muted small">updated ${clock(input.now.toISOString())} UTC · refreshes every minute · <a href="api/results">results JSON</a> · <a href="api/status">status JSON</a></div></header>
<main>${problems}${fleet(input.status, input.now)}${input.timeline ? renderTimelineCard(input.timeline.timeline, input.timeline.skipped) : ''}${charts(input)}${renderSearch(input.search, input.importances)}${table(input)}</main></body></html>`;
  return page.value;
}
