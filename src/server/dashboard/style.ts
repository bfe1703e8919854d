/** The dashboard's stylesheet, inline so the page is one request and needs no build step. */
export const STYLE = `
:root { --kept:#1a9b50; --baseline:#2f6fd6; --reverted:#8b95a1; --vetoed:#d6352f; --failed:#b0b7bf; --ink:#1d2430; --muted:#6b7480;
  --line:#e4e7eb; --bg:#f5f6f8; --card:#fff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color:var(--ink); background:var(--bg); }
header { padding:18px 28px 10px; background:var(--card); border-bottom:1px solid var(--line); }
h1 { margin:0 0 8px; font-size:20px; letter-spacing:-0.01em; }
h2 { margin:0 0 10px; font-size:15px; }
h2 small { font-weight:400; color:var(--muted); margin-left:6px; }
main { padding:18px 28px 40px; max-width:1500px; margin:0 auto; display:flex; flex-direction:column; gap:16px; }
a { color:var(--baseline); text-decoration:none; } a:hover { text-decoration:underline; }
.muted { color:var(--muted); } .small { font-size:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; min-width:0; }
.pair { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
@media (max-width: 900px) { .pair { grid-template-columns:1fr; } }
.chips { display:flex; flex-wrap:wrap; gap:6px; margin-bottom:6px; }
.chip { background:var(--bg); border:1px solid var(--line); border-radius:999px; padding:2px 10px; font-size:12px; }
.o-kept-chip { border-color:var(--kept); color:var(--kept); } .o-reverted-chip { color:var(--muted); }
.o-vetoed-chip { border-color:var(--vetoed); color:var(--vetoed); } .o-failed-chip { color:var(--muted); }
.warn { background:#fff4e5; border:1px solid #f5c46b; border-radius:8px; padding:8px 12px; margin:0; }
.empty p { color:var(--muted); }
ul.machines, ul.jobs { list-style:none; margin:0; padding:0; display:flex; flex-direction:column; gap:8px; }
.machine { padding:8px 10px; border:1px solid var(--line); border-radius:8px; }
.machine .dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:6px; background:var(--failed); }
.machine.online .dot { background:var(--kept); box-shadow:0 0 0 3px #1a9b5022; }
.machine.away { opacity:.8; }
.busy { margin-top:2px; font-size:12px; }
.job { padding:6px 0; }
.bar { height:8px; background:var(--bg); border-radius:4px; overflow:hidden; margin:4px 0 2px; border:1px solid var(--line); }
.bar span { display:block; height:100%; background:var(--baseline); }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; position:sticky; top:0; background:var(--card); z-index:1; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.queues { margin-top:10px; font-size:12px; } .queues td { padding:3px 8px; } .queues td:not(:first-child), .queues th:not(:first-child) { text-align:right; }
.scroll { max-height:900px; overflow:auto; }
.experiments td { font-size:13px; overflow-wrap:anywhere; }
.experiments td.agent-cell, .experiments th.agent-cell { padding:6px 4px; }
.experiments .id { font-weight:600; font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.experiments td.text { min-width:200px; }
.experiments td.exp, .experiments td.eval { white-space:nowrap; overflow-wrap:normal; }
.experiments td.reasons { min-width:240px; max-width:320px; font-size:12px; }
.experiments td.reasons summary { color:var(--muted); cursor:pointer; }
.experiments td:nth-child(3) { width:1%; }
.experiments .hyp { display:-webkit-box; -webkit-line-clamp:3; -webkit-box-orient:vertical; overflow:hidden; }
.experiments .hyp:hover { -webkit-line-clamp:unset; }
.experiments details code { white-space:pre-wrap; word-break:break-all; font-size:11px; }
.experiments .reasons ul { margin:0; padding-left:16px; font-size:12px; }
.experiments tr.row-kept { background:#1a9b500d; } .experiments tr.row-vetoed { background:#d6352f0b; }
.experiments tr.row-failed { color:var(--muted); }
.agent-cell { font-size:12px; }
td.below { color:var(--vetoed); font-weight:600; }
.d { display:block; font-size:11px; } .d.pos { color:var(--kept); } .d.neg { color:var(--vetoed); } .d.zero { color:var(--muted); }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; color:#fff; white-space:nowrap; }
.badge.o-kept { background:var(--kept); } .badge.o-baseline { background:var(--baseline); } .badge.o-reverted { background:var(--reverted); }
.badge.o-vetoed { background:var(--vetoed); } .badge.o-failed { background:var(--failed); }
svg.chart { width:100%; height:auto; display:block; }
.chart .grid { stroke:var(--line); } .chart .axis { stroke:#c5cad1; }
.chart .tick, .chart .axis-label { font-size:11px; fill:var(--muted); }
.chart .line { fill:none; stroke-width:2; }
.chart .pt { stroke-width:1.5; }
.chart circle.o-kept { fill:var(--kept); stroke:#fff; } .chart circle.o-baseline { fill:var(--baseline); stroke:#fff; }
.chart circle.o-reverted { fill:#fff; stroke:var(--reverted); }
.chart g.o-vetoed path { stroke:var(--vetoed); stroke-width:2.2; }
.chart path.failed { stroke:var(--failed); stroke-width:2; }
.chart .rule { stroke-dasharray:6 4; stroke-width:1.5; } .chart .veto { stroke:var(--vetoed); fill:var(--vetoed); }
.chart .rule-label { font-size:12px; stroke:#fff; stroke-width:4px; paint-order:stroke; font-weight:600; }
.best.g0 { stroke:var(--kept); } .best.g1 { stroke:#9b59b6; } .best.g2 { stroke:#e67e22; } .best.g3 { stroke:#16a085; }
.agent { stroke-width:1.6 !important; opacity:.9; }
.a0 { stroke:#2f6fd6; } .a1 { stroke:#e67e22; } .a2 { stroke:#1a9b50; } .a3 { stroke:#d6352f; } .a4 { stroke:#9b59b6; } .a5 { stroke:#16a085; }
.a6 { stroke:#7f8c8d; } .a7 { stroke:#c0392b; }
.legend { list-style:none; display:flex; flex-wrap:wrap; gap:4px 14px; margin:0 0 6px; padding:0; font-size:12px; color:var(--muted); }
.sw { display:inline-block; width:12px; height:12px; margin-right:5px; vertical-align:-2px; }
.sw.dot { border-radius:50%; } .sw.dot.o-kept { background:var(--kept); } .sw.dot.o-baseline { background:var(--baseline); }
.sw.hollow { border-radius:50%; border:2px solid var(--reverted); }
.sw.cross { background:linear-gradient(45deg, transparent 42%, var(--vetoed) 42%, var(--vetoed) 58%, transparent 58%), linear-gradient(-45deg, transparent 42%, var(--vetoed) 42%, var(--vetoed) 58%, transparent 58%); }
.sw.tick { width:3px; background:var(--failed); }
.sw.line { height:0; border-top:3px solid; border-color:inherit; width:16px; vertical-align:3px; }
.sw.line.best.g0 { border-color:var(--kept); } .sw.line.best.g1 { border-color:#9b59b6; } .sw.line.best.g2 { border-color:#e67e22; } .sw.line.best.g3 { border-color:#16a085; }
.sw.line.a0 { border-color:#2f6fd6; } .sw.line.a1 { border-color:#e67e22; } .sw.line.a2 { border-color:#1a9b50; } .sw.line.a3 { border-color:#d6352f; }
.sw.line.a4 { border-color:#9b59b6; } .sw.line.a5 { border-color:#16a085; } .sw.line.a6 { border-color:#7f8c8d; } .sw.line.a7 { border-color:#c0392b; }
code { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.records td.text { max-width:560px; white-space:pre-wrap; word-break:break-word; }
.records tr.row-vetoed { background:#d6352f0b; }
.search-layout { display:grid; grid-template-columns:260px 1fr; gap:16px; align-items:start; }
@media (max-width: 900px) { .search-layout { grid-template-columns:1fr; } }
.search h3 { font-size:13px; margin:4px 0 6px; color:var(--muted); font-weight:600; }
.multiples { display:grid; grid-template-columns:repeat(auto-fill, minmax(200px, 1fr)); gap:8px; }
.chart.scatter { width:100%; height:auto; }
.chart.scatter .tick { font-size:9px; } .chart.scatter .axis-label { font-size:10px; }
.chart.scatter g.o-vetoed path { stroke-width:1.6; }
table.importance { width:100%; border-collapse:collapse; font-size:12px; }
table.importance td { padding:2px 4px; } .bar-cell { width:45%; }
.imp-bar { display:block; height:8px; border-radius:4px; background:var(--kept); }
.proposer { margin-top:3px; }
`;
