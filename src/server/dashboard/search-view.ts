import { axes as allAxes, isLog, readAxis } from '../../planner/search-space.js';
import type { ParamSpec } from '../../planner/types.js';
import type { SectionValues } from '../../research/executor.js';
import type { ResultRow } from '../../research/results-format.js';
import { html, type SafeHtml } from './html.js';
import { groupOf, outcomeOf, type Outcome } from './view-model.js';

/**
 * "See the search": for each mode and base model, the score of every scored experiment against each searched
 * parameter (a small multiple of scatter plots, vetoes as crosses), and the parameters' importance as Optuna
 * estimates it from the same rows. Pure: importances are computed elsewhere (src/server/importance.ts).
 */
export interface SearchPoint {
  value: number;
  score: number;
  outcome: Outcome;
  tip: string;
}

export interface SearchPanel {
  key: string;
  low: number;
  high: number;
  log: boolean;
  points: SearchPoint[];
}

export interface SearchGroup {
  group: string;
  panels: SearchPanel[];
}

/** Importances per group: the map, a reason there are none yet, or why they could not be computed. */
export type GroupImportance = { importances: Record<string, number> } | { note: string };

/** Each mode's parameters: its base model's search space (`models.<mode>.searchSpace`). */
export type SpecsFor = (mode: 'full' | 'proxy') => readonly ParamSpec[];

export function buildSearchView(rows: readonly ResultRow[], specsFor: SpecsFor, agents: readonly string[]): SearchGroup[] {
  const groups = new Map<string, SearchGroup>();
  rows.forEach((row, i) => {
    if (row.score === null || row.parameters === null || row.mode === null) return;
    const axes = allAxes(specsFor(row.mode), agents);
    const group = groupOf(row);
    const g =
      groups.get(group) ??
      { group, panels: axes.map((a) => ({ key: a.key, low: a.spec.min, high: a.spec.max, log: isLog(a.spec), points: [] as SearchPoint[] })) };
    groups.set(group, g);
    axes.forEach((axis, k) => {
      const raw = row.parameters![axis.spec.name];
      if (raw === undefined) return;
      const value = readAxis(row.parameters as SectionValues, axis);
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      g.panels[k]!.points.push({
        value,
        score: row.score!,
        outcome: outcomeOf(row.result),
        tip: `#${i + 1} ${row.experimentId} · ${row.result}${row.proposer ? ` · ${row.proposer}` : ''} · ${axis.key} ${value} · overall ${row.score!.toFixed(3)}`,
      });
    });
  });
  return [...groups.values()];
}

const W = 220;
const H = 140;
const M = { left: 34, right: 8, top: 8, bottom: 26 };
const f = (n: number) => n.toFixed(1);

function scatter(panel: SearchPanel, y0: number, y1: number): SafeHtml {
  const pos = (v: number) => (panel.log ? Math.log(v / panel.low) / Math.log(panel.high / panel.low) : (v - panel.low) / (panel.high - panel.low));
  const sx = (v: number) => M.left + Math.min(1, Math.max(0, pos(v))) * (W - M.left - M.right);
  const sy = (y: number) => M.top + (1 - (y - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  const show = (v: number) => (panel.log ? v.toExponential(0) : String(Number(v.toPrecision(3))));
  const pts = panel.points.map((p) => {
    const cx = sx(p.value);
    const cy = sy(p.score);
    if (p.outcome === 'vetoed') {
      return html`<g class="pt o-vetoed"><path d="M${f(cx - 3)},${f(cy - 3)} L${f(cx + 3)},${f(cy + 3)} M${f(cx - 3)},${f(cy + 3)} L${f(cx + 3)},${f(cy - 3)}"/><title>${p.tip}</title></g>`;
    }
    return html`<circle class="pt o-${p.outcome}${p.outcome === 'reverted' ? ' hollow' : ''}" cx="${f(cx)}" cy="${f(cy)}" r="3.2"><title>${p.tip}</title></circle>`;
  });
  return html`<svg class="chart scatter" viewBox="0 0 ${W} ${H}" role="img" aria-label="overall score against ${panel.key}" data-param="${panel.key}">
<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}"/>
<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}"/>
<text class="tick" x="${M.left - 4}" y="${f(sy(y1) + 8)}" text-anchor="end">${y1.toFixed(2)}</text>
<text class="tick" x="${M.left - 4}" y="${f(sy(y0))}" text-anchor="end">${y0.toFixed(2)}</text>
<text class="tick" x="${M.left}" y="${H - M.bottom + 12}" text-anchor="start">${show(panel.low)}</text>
<text class="tick" x="${W - M.right}" y="${H - M.bottom + 12}" text-anchor="end">${show(panel.high)}</text>
<text class="axis-label" x="${f((W + M.left) / 2)}" y="${H - 3}" text-anchor="middle">${panel.key}${panel.log ? ' (log)' : ''}</text>
${pts}</svg>`;
}

function importanceList(imp: GroupImportance | undefined, keys: readonly string[]): SafeHtml {
  if (!imp) return html`<p class="muted small">importance: not computed</p>`;
  if ('note' in imp) return html`<p class="muted small importance-note">importance: ${imp.note}</p>`;
  const sorted = Object.entries(imp.importances).sort((a, b) => b[1] - a[1]);
  const max = sorted[0]?.[1] || 1;
  const constant = keys.filter((k) => !(k in imp.importances));
  return html`<table class="importance"><tbody>${sorted.map(
    ([k, v]) => html`<tr data-param="${k}"><td>${k}</td><td class="bar-cell"><span class="imp-bar" style="width:${((v / max) * 100).toFixed(1)}%"></span></td><td class="num">${v.toFixed(3)}</td></tr>`,
  )}</tbody></table>${constant.length ? html`<p class="muted small not-varied">not varied yet: ${constant.join(', ')}</p>` : ''}`;
}

export function renderSearch(groups: readonly SearchGroup[], importances: ReadonlyMap<string, GroupImportance>): SafeHtml {
  if (groups.length === 0) return html``;
  return html`${groups.map((g) => {
    const ys = g.panels.flatMap((p) => p.points.map((q) => q.score));
    const lo = Math.max(0, Math.floor((Math.min(...ys) - 0.02) * 20) / 20);
    const hi = Math.min(1, Math.ceil((Math.max(...ys) + 0.02) * 20) / 20);
    return html`<section class="card wide search" data-group="${g.group}"><h2>The search · ${g.group} <small>overall score against each parameter; parameter importance from Optuna (PED-ANOVA) over these rows</small></h2>
<div class="search-layout"><div><h3>Parameter importance</h3>${importanceList(importances.get(g.group), g.panels.map((p) => p.key))}</div>
<div class="multiples">${g.panels.map((p) => scatter(p, lo, hi))}</div></div></section>`;
  })}`;
}
