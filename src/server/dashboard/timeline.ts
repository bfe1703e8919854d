import type { MachineLane, NightTimeline, TimelineSegment } from '../../fleet/timeline.js';
import { html, trusted, type SafeHtml } from './html.js';

/**
 * The night per machine as server-rendered SVG: one lane per machine, training and evaluation as bars, idle
 * as the gaps, and each machine's busy share at the right. Every label goes through `html`, so it is escaped.
 */
const W = 1000;
const LABEL = 120;
const SHARE = 120;
const LANE = 30;
const TOP = 8;
const AXIS = 24;

/** Its own rules, so the page's stylesheet (shared with other views) needs no edit. */
const TIMELINE_STYLE = `
svg.timeline { width:100%; height:auto; display:block; }
.timeline .lane-bg { fill:#f5f6f8; }
.timeline .seg.training { fill:#2f6fd6; } .timeline .seg.evaluation { fill:#e08a1e; }
.timeline .seg.failed { fill-opacity:.45; stroke:#d6352f; stroke-width:1; }
.timeline .seg.running { fill-opacity:.75; }
.timeline .seg.idle { fill:transparent; }
.timeline .now { stroke:#1d2430; stroke-dasharray:3 3; }
.timeline .grid { stroke:#e4e7eb; }
.timeline .tick { font-size:11px; fill:#6b7480; }
.timeline .machine { font-size:13px; font-weight:600; fill:#1d2430; }
.timeline .share { font-size:13px; fill:#1d2430; font-variant-numeric:tabular-nums; }
.timeline-legend .sw.training { background:#2f6fd6; } .timeline-legend .sw.evaluation { background:#e08a1e; }
.timeline-legend .sw.idle { background:#f5f6f8; border:1px solid #e4e7eb; }
.timeline-legend .sw.failed { background:#2f6fd673; border:1px solid #d6352f; }
.timeline-legend { list-style:none; display:flex; gap:14px; padding:0; margin:0 0 6px; font-size:12px; color:#6b7480; }
.timeline-legend .sw { display:inline-block; width:12px; height:10px; margin-right:5px; border-radius:2px; vertical-align:-1px; }
`;

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Tick times on round clock values, at most about ten across the night. */
export function timeTicks(start: number, end: number): number[] {
  const span = end - start;
  const step = [5, 10, 15, 30, 60, 120, 180, 240].map((m) => m * 60_000).find((s) => span / s <= 10) ?? 360 * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return ticks;
}

function segmentTip(s: TimelineSegment, machine: string): string {
  const when = `${hhmm(s.start)}–${hhmm(s.end)} UTC (${minutes(s.end - s.start)})`;
  if (!s.job) return `${machine} idle · ${when}`;
  const waited = s.start - s.job.queuedAt > 60_000 ? ` · waited ${minutes(s.start - s.job.queuedAt)} in the queue` : '';
  return `${machine} ${s.kind} · ${s.job.experimentId ?? s.job.jobId} (${s.job.queue}) · ${when} · ${s.job.outcome}${waited}`;
}

function lane(l: MachineLane, i: number, x: (t: number) => number, night: number): SafeHtml {
  const y = TOP + i * LANE;
  const h = LANE - 8;
  const f = (n: number) => n.toFixed(1);
  const bar = (s: TimelineSegment) => {
    const cls = s.job ? `${s.kind}${s.job.outcome === 'failed' ? ' failed' : s.job.outcome === 'running' ? ' running' : ''}` : 'idle';
    // At least a pixel wide, so a short failed job is still visible at night scale.
    const width = Math.max(1, x(s.end) - x(s.start));
    return html`<rect class="seg ${cls}" data-kind="${s.kind}" x="${f(x(s.start))}" y="${y + 4}" width="${f(width)}" height="${h}"><title>${segmentTip(s, l.machine)}</title></rect>`;
  };
  const pct = night > 0 ? Math.round((l.busyMs / night) * 100) : 0;
  return html`<g class="lane" data-machine="${l.machine}" data-busy-share="${l.busyShare.toFixed(3)}">
<text class="machine" x="${LABEL - 10}" y="${y + LANE / 2 + 4}" text-anchor="end">${l.machine}</text>
<rect class="lane-bg" x="${LABEL}" y="${y + 4}" width="${W - LABEL - SHARE}" height="${h}"/>
${l.idle.map(bar)}${l.busy.map(bar)}
<text class="share" x="${W - SHARE + 10}" y="${y + LANE / 2 + 4}"><title>training ${minutes(l.trainingMs)}, evaluation ${minutes(l.evaluationMs)}, busy ${minutes(l.busyMs)} of ${minutes(night)}</title>${pct}% busy</text></g>`;
}

export function renderTimelineSvg(timeline: NightTimeline): SafeHtml {
  const night = timeline.end - timeline.start;
  const x = (t: number) => LABEL + (night > 0 ? ((t - timeline.start) / night) * (W - LABEL - SHARE) : 0);
  const height = TOP + timeline.lanes.length * LANE + AXIS;
  const axisY = TOP + timeline.lanes.length * LANE;
  // The night's ends are labelled; round ticks too close to them would overprint the labels.
  const ends = html`<text class="tick" x="${LABEL}" y="${axisY + 17}" text-anchor="start">${hhmm(timeline.start)}</text><text class="tick" x="${x(timeline.end).toFixed(1)}" y="${axisY + 17}" text-anchor="end">now ${hhmm(timeline.end)}</text>`;
  const clear = (t: number) => x(t) - LABEL > 45 && x(timeline.end) - x(t) > 90;
  const ticks = timeTicks(timeline.start, timeline.end).filter(clear).map(
    (t) => html`<line class="grid" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${TOP}" y2="${axisY + 4}"/><text class="tick" x="${x(t).toFixed(1)}" y="${axisY + 17}" text-anchor="middle">${hhmm(t)}</text>`,
  );
  return html`<svg id="night-timeline" class="timeline" viewBox="0 0 ${W} ${height}" role="img" aria-label="What each machine did tonight" preserveAspectRatio="xMidYMid meet">
${ticks}${ends}${timeline.lanes.map((l, i) => lane(l, i, x, night))}
<line class="now" x1="${x(timeline.end).toFixed(1)}" x2="${x(timeline.end).toFixed(1)}" y1="${TOP}" y2="${axisY}"/></svg>`;
}

/** The dashboard card; `null` means the job records could not be read (Redis down), which the card says. */
export function renderTimelineCard(timeline: NightTimeline | null, skipped: readonly string[] = []): SafeHtml {
  const style = html`<style>${trusted(TIMELINE_STYLE)}</style>`;
  if (timeline === null) {
    return html`<section class="card wide" id="timeline">${style}<h2>Tonight per machine</h2><p class="muted">The job records could not be read from Redis.</p></section>`;
  }
  if (timeline.lanes.length === 0) {
    return html`<section class="card wide" id="timeline">${style}<h2>Tonight per machine</h2><p class="muted">No training or evaluation job has run in the last hours.</p></section>`;
  }
  const legend = html`<ul class="timeline-legend"><li><span class="sw training"></span>training</li><li><span class="sw evaluation"></span>evaluation</li><li><span class="sw idle"></span>idle</li><li><span class="sw failed"></span>failed</li></ul>`;
  const note = skipped.length
    ? html`<p class="muted small">${skipped.length} job record(s) left out as unreadable: ${skipped.slice(0, 3).join('; ')}</p>`
    : '';
  return html`<section class="card wide" id="timeline">${style}<h2>Tonight per machine <small>since ${hhmm(timeline.start)} UTC; busy share of the night so far</small></h2>
${legend}${renderTimelineSvg(timeline)}${note}</section>`;
}
