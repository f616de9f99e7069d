// Builds the object k6 (classic summary shape, v0.49 through v2.2) hands to handleSummary(data):
// metrics with type/contains/values/thresholds (sub-metrics as "name{tag:value}" entries),
// root_group with groups and checks, options and state.testRunDurationMs.
import { createHash } from "node:crypto";
import { runtime, type MetricDef, type Sample, type Tags } from "./runtime.ts";
import { aggregate, matches, passes, type Threshold } from "./thresholds.ts";

export interface SummaryMetric {
  type: string;
  contains: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

interface SummaryGroup {
  name: string;
  path: string;
  id: string;
  groups: SummaryGroup[];
  checks: { name: string; path: string; id: string; passes: number; fails: number }[];
}

const DEFAULT_TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)"];

function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

function values(def: MetricDef, samples: Sample[], durationMs: number, trendStats: string[]): Record<string, number> {
  switch (def.type) {
    case "counter":
      return { count: aggregate("counter", samples, "count", durationMs), rate: aggregate("counter", samples, "rate", durationMs) };
    case "gauge": {
      const v = samples.map((s) => s.value);
      return { value: aggregate("gauge", samples, "value", durationMs), min: v.length ? Math.min(...v) : 0, max: v.length ? Math.max(...v) : 0 };
    }
    case "rate": {
      const pass = samples.filter((s) => s.value !== 0).length;
      return { rate: samples.length ? pass / samples.length : 0, passes: pass, fails: samples.length - pass };
    }
    case "trend":
      return Object.fromEntries(
        trendStats.map((stat) => [stat, aggregate("trend", samples, stat, durationMs)]),
      );
  }
}

function formatKey(metric: string, selector: Tags): string {
  return `${metric}{${Object.entries(selector).map(([k, v]) => `${k}:${v}`).join(",")}}`;
}

export function buildMetrics(thresholds: Threshold[], durationMs: number): Record<string, SummaryMetric> {
  const trendStats = (runtime.options.summaryTrendStats as string[] | undefined) ?? DEFAULT_TREND_STATS;
  const out: Record<string, SummaryMetric> = {};
  const entry = (key: string, def: MetricDef, selector: Tags | null) => {
    const samples = def.samples.filter((s) => matches(s, selector));
    out[key] ??= { type: def.type, contains: def.contains, values: values(def, samples, durationMs, trendStats) };
    return out[key]!;
  };
  for (const def of runtime.metrics.values()) {
    if (def.samples.length > 0) entry(def.name, def, null);
  }
  // k6 always defines this sub-metric; it shows once it has samples.
  const duration = runtime.metrics.get("http_req_duration")!;
  const expected = { expected_response: "true" };
  if (duration.samples.some((s) => matches(s, expected))) entry(formatKey("http_req_duration", expected), duration, expected);
  // Metrics carrying thresholds are reported even without samples, as k6 marks them observed.
  for (const t of thresholds) {
    const def = runtime.metrics.get(t.metric)!;
    entry(t.metric, def, null);
    const target = t.selector ? entry(formatKey(t.metric, t.selector), def, t.selector) : out[t.metric]!;
    target.thresholds ??= {};
    target.thresholds[t.expression] = { ok: passes(t, def, durationMs) };
  }
  return out;
}

export function buildRootGroup(): SummaryGroup {
  const root: SummaryGroup = { name: "", path: "", id: md5(""), groups: [], checks: [] };
  const byPath = new Map<string, SummaryGroup>([["", root]]);
  const ensure = (path: string): SummaryGroup => {
    const known = byPath.get(path);
    if (known) return known;
    const cut = path.lastIndexOf("::");
    const parent = ensure(path.slice(0, cut));
    const group: SummaryGroup = { name: path.slice(cut + 2), path, id: md5(path), groups: [], checks: [] };
    parent.groups.push(group);
    byPath.set(path, group);
    return group;
  };
  for (const path of runtime.groups) ensure(path);
  for (const c of runtime.checks.values()) {
    const path = `${c.groupPath}::${c.name}`;
    ensure(c.groupPath).checks.push({ name: c.name, path, id: md5(path), passes: c.passes, fails: c.fails });
  }
  return root;
}

export function buildSummaryData(thresholds: Threshold[], durationMs: number) {
  return {
    root_group: buildRootGroup(),
    options: {
      summaryTrendStats: (runtime.options.summaryTrendStats as string[] | undefined) ?? DEFAULT_TREND_STATS,
      summaryTimeUnit: (runtime.options.summaryTimeUnit as string | undefined) ?? "",
      noColor: false,
    },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    metrics: buildMetrics(thresholds, durationMs),
  };
}

export type SummaryData = ReturnType<typeof buildSummaryData>;

/** Stand-in for k6's text summary when a script exports no handleSummary. */
export function textSummary(data: SummaryData): string {
  const lines = Object.entries(data.metrics)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, m]) => {
      const marks = m.thresholds ? (Object.values(m.thresholds).every((t) => t.ok) ? "✓ " : "✗ ") : "  ";
      const vals = Object.entries(m.values).map(([k, v]) => `${k}=${Number(v.toFixed(3))}`).join(" ");
      return `   ${marks}${name}: ${vals}`;
    });
  return lines.join("\n") + "\n";
}
