import { html, type SafeHtml } from './html.js';

/**
 * Inline SVG charts over experiment index (x) and a score in [0, 1] (y), in the spirit of Karpathy's
 * autoresearch progress plot. Pure string building; every label goes through `html`, so it is escaped.
 * The viewBox scales with the page, and points shrink as experiments grow, so 200 stay readable.
 */
export interface ChartPoint {
  x: number;
  y: number;
  /** CSS class: the outcome colour or the series colour. */
  cls: string;
  /** Native tooltip text. */
  tip: string;
  /** Marks drawn as a cross instead of a dot (vetoed). */
  cross?: boolean;
  /** Dots drawn hollow (reverted). */
  hollow?: boolean;
}

export interface ChartLine {
  points: Array<{ x: number; y: number }>;
  cls: string;
  label: string;
  step?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** Number of experiments: the x axis runs from 1 to this. */
  xMax: number;
  /** viewBox width: a chart shown at half the page gets a narrower box, so its labels stay legible. */
  width?: number;
  points: ChartPoint[];
  lines: ChartLine[];
  /** Horizontal reference lines, e.g. the 0.7 jailbreak veto. */
  rules?: Array<{ y: number; label: string; cls: string }>;
  /** Ticks at the bottom for rows without a score (crash, invalid, timeout). */
  failures?: Array<{ x: number; tip: string }>;
}

const H = 300;
const M = { left: 48, right: 16, top: 14, bottom: 34 };

/** A y range that shows differences of a few hundredths, never leaving [0, 1]. */
export function yRange(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max(0.02, (hi - lo) * 0.15);
  const min = Math.max(0, Math.floor((lo - pad) * 20) / 20);
  const max = Math.min(1, Math.ceil((hi + pad) * 20) / 20);
  return max - min < 0.1 ? [Math.max(0, max - 0.1), Math.max(max, 0.1)] : [min, max];
}

function xTicks(xMax: number, most: number): number[] {
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500].find((s) => xMax / s <= most) ?? Math.ceil(xMax / most);
  const ticks = [1];
  for (let t = step; t <= xMax; t += step) if (t !== 1) ticks.push(t);
  return ticks;
}

export function renderChart(spec: ChartSpec): SafeHtml {
  const W = spec.width ?? 1000;
  const ys = [...spec.points.map((p) => p.y), ...spec.lines.flatMap((l) => l.points.map((p) => p.y)), ...(spec.rules ?? []).map((r) => r.y)];
  const [y0, y1] = yRange(ys);
  const xMax = Math.max(spec.xMax, 2);
  const sx = (x: number) => M.left + ((x - 1) / (xMax - 1)) * (W - M.left - M.right);
  const sy = (y: number) => M.top + (1 - (y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const r = (spec.xMax > 120 ? 3 : spec.xMax > 40 ? 4 : 5) * (W >= 900 ? 1 : 0.8);
  const f = (n: number) => n.toFixed(1);

  const yTicks: number[] = [];
  const yStep = y1 - y0 > 0.5 ? 0.1 : 0.05;
  for (let t = Math.ceil(y0 / yStep) * yStep; t <= y1 + 1e-9; t += yStep) yTicks.push(Number(t.toFixed(2)));

  const grid = yTicks.map(
    (t) => html`<line class="grid" x1="${f(M.left)}" x2="${f(W - M.right)}" y1="${f(sy(t))}" y2="${f(sy(t))}"/><text class="tick" x="${f(M.left - 6)}" y="${f(sy(t) + 4)}" text-anchor="end">${t.toFixed(2)}</text>`,
  );
  const xAxis = xTicks(spec.xMax, W >= 900 ? 12 : 8).map(
    (t) => html`<text class="tick" x="${f(sx(t))}" y="${f(H - M.bottom + 16)}" text-anchor="middle">${t}</text>`,
  );
  const lines = spec.lines.map((line) => {
    if (line.points.length === 0) return '';
    const pts = line.step ? stepPoints(line.points, spec.xMax) : line.points;
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(sx(p.x))},${f(sy(p.y))}`).join(' ');
    return html`<path class="line ${line.cls}" d="${d}"><title>${line.label}</title></path>`;
  });
  const rules = (spec.rules ?? []).map(
    (rule) => html`<line class="rule ${rule.cls}" x1="${f(M.left)}" x2="${f(W - M.right)}" y1="${f(sy(rule.y))}" y2="${f(sy(rule.y))}"/><text class="rule-label ${rule.cls}" x="${f(W - M.right - 4)}" y="${f(sy(rule.y) - 5)}" text-anchor="end">${rule.label}</text>`,
  );
  const points = spec.points.map((p) => {
    const cx = sx(p.x);
    const cy = sy(p.y);
    if (p.cross) {
      const k = r + 1;
      return html`<g class="pt ${p.cls}" data-x="${p.x}"><path d="M${f(cx - k)},${f(cy - k)} L${f(cx + k)},${f(cy + k)} M${f(cx - k)},${f(cy + k)} L${f(cx + k)},${f(cy - k)}"/><title>${p.tip}</title></g>`;
    }
    return html`<circle class="pt ${p.cls}${p.hollow ? ' hollow' : ''}" data-x="${p.x}" cx="${f(cx)}" cy="${f(cy)}" r="${p.hollow ? r : r + 1}"><title>${p.tip}</title></circle>`;
  });
  const failures = (spec.failures ?? []).map(
    (p) => html`<path class="pt failed" data-x="${p.x}" d="M${f(sx(p.x))},${f(H - M.bottom - 8)} l0,8"><title>${p.tip}</title></path>`,
  );
  return html`<svg id="${spec.id}" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${spec.title}" preserveAspectRatio="xMidYMid meet">
<line class="axis" x1="${f(M.left)}" x2="${f(W - M.right)}" y1="${f(H - M.bottom)}" y2="${f(H - M.bottom)}"/>
${grid}${xAxis}<text class="axis-label" x="${f((W + M.left) / 2)}" y="${H - 4}" text-anchor="middle">experiment #</text>
${rules}${lines}${points}${failures}</svg>`;
}

/** A running best drawn as steps: flat until the next champion, then up (or down, after a new baseline). */
function stepPoints(points: ReadonlyArray<{ x: number; y: number }>, xMax: number): Array<{ x: number; y: number }> {
  const out: Array<{ x: number; y: number }> = [];
  points.forEach((p, i) => {
    if (i > 0) out.push({ x: p.x, y: points[i - 1]!.y });
    out.push(p);
  });
  const last = points.at(-1);
  if (last && last.x < xMax) out.push({ x: xMax, y: last.y });
  return out;
}
