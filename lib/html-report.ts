// A self-contained HTML report of a run: inline CSS and inline SVG charts only, no scripts, fonts or
// other external resources, so it opens from a CI artifact or an air-gapped laptop alike.
// Pure module: no k6 import.
import { xmlEscape as esc } from "./junit.ts";
import { capacityFromModel, invariantOutcomes, metricValue, soldOutRate, type SummaryModel } from "./summary-model.ts";
import {
  conflictNote,
  fmtCount,
  fmtMs,
  fmtPct,
  inventoryDesign,
  LATENCY_METRICS,
  LATENCY_STATS,
  runVerdict,
  taxonomyRows,
  type RunContext,
} from "./summary-text.ts";

const COLORS = ["#4c78a8", "#72b7b2", "#f58518", "#e45756"];

/** Grouped bars: one group per latency metric, one bar per percentile. */
export function latencyChartSvg(model: SummaryModel): string {
  const metrics = LATENCY_METRICS.filter((m) => model.metrics[m]);
  const values = metrics.map((m) =>
    LATENCY_STATS.map((s) => metricValue(model, m, s) ?? (s === "p(50)" ? metricValue(model, m, "med") : undefined) ?? 0),
  );
  const max = Math.max(1, ...values.flat());
  const width = 640;
  const height = 240;
  const top = 20;
  const bottom = 40;
  const left = 60;
  const plot = height - top - bottom;
  const groupWidth = metrics.length ? (width - left - 10) / metrics.length : 0;
  const barWidth = Math.max(4, groupWidth / (LATENCY_STATS.length + 1));
  const bars = values
    .map((row, g) =>
      row
        .map((v, i) => {
          const h = (v / max) * plot;
          const x = left + g * groupWidth + i * barWidth + barWidth / 2;
          return `<rect x="${x.toFixed(1)}" y="${(top + plot - h).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[i]}"><title>${esc(`${metrics[g]} ${LATENCY_STATS[i]} ${fmtMs(v)}`)}</title></rect>`;
        })
        .join(""),
    )
    .join("");
  const labels = metrics
    .map(
      (m, g) => `<text x="${(left + g * groupWidth + groupWidth / 2).toFixed(1)}" y="${height - 22}" text-anchor="middle">${esc(m)}</text>`,
    )
    .join("");
  const legend = LATENCY_STATS.map(
    (s, i) =>
      `<rect x="${left + i * 80}" y="${height - 14}" width="10" height="10" fill="${COLORS[i]}"/><text x="${left + i * 80 + 14}" y="${height - 5}">${esc(s)}</text>`,
  ).join("");
  const axis = `<line x1="${left}" y1="${top + plot}" x2="${width - 10}" y2="${top + plot}" stroke="#888"/><text x="${left - 6}" y="${top + 4}" text-anchor="end">${esc(fmtMs(max))}</text><text x="${left - 6}" y="${top + plot}" text-anchor="end">0</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="latency percentiles" font-size="11" font-family="sans-serif">${axis}${bars}${labels}${legend}</svg>`;
}

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

function badge(passed: boolean | null): string {
  return passed === null
    ? `<span class="na">not checked</span>`
    : passed
      ? `<span class="ok">pass</span>`
      : `<span class="bad">FAIL</span>`;
}

const CSS = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:960px}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;font-size:.9rem}th{background:#f4f4f4}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:700}.na{color:#777}.result{font-size:1.2rem;padding:.5rem 1rem;display:inline-block;border-radius:4px}
.passed{background:#dafbe1}.failed{background:#ffebe9}`;

export function renderHtml(model: SummaryModel, ctx: RunContext): string {
  const verdict = runVerdict(model, ctx);
  const latencyRows = LATENCY_METRICS.filter((m) => model.metrics[m]).map((m) => [
    esc(m),
    ...LATENCY_STATS.map((s) => esc(fmtMs(metricValue(model, m, s) ?? (s === "p(50)" ? metricValue(model, m, "med") : undefined)))),
    esc(fmtCount(metricValue(model, m, "count"))),
  ]);
  const capacity = capacityFromModel(model);
  const note = conflictNote(model);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`liventix-load ${ctx.bundle}`)}</title><style>${CSS}</style></head>
<body>
<h1>K6 load test report: ${esc(ctx.bundle)}</h1>
<p>profile <b>${esc(ctx.profile)}</b>, scenario <b>${esc(ctx.scenario)}</b>, target ${esc(ctx.target)}, event ${esc(ctx.eventId ?? "-")}${esc(inventoryDesign(ctx.bucketsPerTier))}</p>
<p class="result ${verdict.outcome === "passed" ? "passed" : "failed"}">${esc(verdict.text)}</p>
${ctx.dashboard ? `<p>Over time (requests, latency, VUs): <a href="${esc(ctx.dashboard)}">k6 web dashboard</a></p>` : ""}
<h2>Latency percentiles</h2>
${latencyChartSvg(model)}
${table(["metric", ...LATENCY_STATS, "count"], latencyRows)}
<h2>Reservations</h2>
${table(
  ["attempts", "failures", "sold out", "retries", "idempotent replays", "oversell"],
  [
    [
      fmtCount(metricValue(model, "reserve_latency", "count")),
      fmtPct(metricValue(model, "reserve_failures", "rate")),
      fmtPct(soldOutRate(model)),
      fmtCount(metricValue(model, "retries", "count") ?? 0),
      fmtCount(metricValue(model, "idempotent_replays", "count") ?? 0),
      fmtCount(metricValue(model, "oversell_detected", "count") ?? 0),
    ].map(esc),
  ],
)}
<h2>Error taxonomy</h2>
${table(
  ["code", "meaning", "count", "rate"],
  taxonomyRows(model).map((r) => [esc(r.code), esc(r.label), String(r.count), esc(fmtPct(r.rate))]),
)}
${note.length > 0 ? `<p>${esc(note.join(" "))}</p>` : ""}
<h2>Capacity</h2>
${
  capacity
    ? table(Object.keys(capacity), [Object.values(capacity).map((v) => esc(String(Math.round((v ?? 0) * 1000) / 1000)))])
    : "<p>not available</p>"
}
<h2>Invariants</h2>
${table(
  ["check", "result", "violations"],
  invariantOutcomes(model, ctx.checks).map((o) => [esc(o.name), badge(o.passed), String(o.violations)]),
)}
<h2>Thresholds</h2>
${table(
  ["metric", "threshold", "result"],
  model.thresholds.filter((t) => !t.tracking).map((t) => [esc(t.metric), esc(t.expression), badge(t.ok)]),
)}
<h2>Checks</h2>
${table(
  ["check", "passes", "fails"],
  model.checks.map((c) => [esc(c.name), String(c.passes), String(c.fails)]),
)}
</body></html>
`;
}
