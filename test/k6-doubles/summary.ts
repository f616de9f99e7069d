// The run's one metrics registry (every VU's records merged, as k6's single metrics engine sees them) and what
// k6 makes of it at the end: its sink arithmetic, the thresholds (parsed by lib/thresholds.ts, the project's one
// parser of k6's grammar; k6 exits 104 on a bad one) and the handleSummary(data) object of k6 v0.49 through v2.2.
import { createHash } from "node:crypto";
import type { Options } from "k6/options";
import { aggregationApplies, meets, parseExpression, parseMetricKey, type ParsedExpression } from "../../lib/thresholds.ts";
import type { MetricKind } from "../../lib/metric-names.ts";

export type Tags = Record<string, string>;
type Sample = { value: number; tags: Tags };
export type Metric = { type: MetricKind; contains: "time" | "default"; samples: Sample[] };
type Check = { name: string; group: string; passes: number; fails: number };
/** What a VU recorded since its last report; merged, the whole run. Checks by path, groups in the order first entered. */
export type Records = { metrics: Record<string, Metric>; checks: Record<string, Check>; groups: string[]; warnings: string[] };

export const emptyRecords = (): Records => ({ metrics: {}, checks: {}, groups: [], warnings: [] });

export function merge(into: Records, from: Records): void {
  for (const [name, m] of Object.entries(from.metrics)) (into.metrics[name] ??= { ...m, samples: [] }).samples.push(...m.samples);
  for (const [path, c] of Object.entries(from.checks)) {
    const target = (into.checks[path] ??= { ...c, passes: 0, fails: 0 });
    target.passes += c.passes;
    target.fails += c.fails;
  }
  for (const g of from.groups) if (!into.groups.includes(g)) into.groups.push(g);
  into.warnings.push(...from.warnings);
}

export type Threshold = { metric: string; selector: Tags | null; expression: string; parsed: ParsedExpression; abortOnFail: boolean };

export function parseThresholds(raw: Options["thresholds"], metrics: Records["metrics"]): Threshold[] {
  return Object.entries(raw ?? {}).flatMap(([key, items]) => {
    const parsedKey = parseMetricKey(key);
    const metric = parsedKey ? metrics[parsedKey.metric] : undefined;
    if (!parsedKey || !metric) throw new Error(`invalid threshold defined on ${key}; reason: no metric name "${key}" found`);
    return items.map((item) => {
      const spec = typeof item === "string" ? { threshold: item, abortOnFail: false } : item;
      const parsed = parseExpression(spec.threshold);
      if (!parsed || !aggregationApplies(metric.type, parsed.aggregation)) {
        throw new Error(`invalid threshold defined on ${key}; reason: "${spec.threshold}" is no ${metric.type} metric threshold`);
      }
      const abortOnFail = spec.abortOnFail === true;
      return { metric: parsedKey.metric, selector: parsedKey.tags, expression: spec.threshold, parsed, abortOnFail };
    });
  });
}

function samplesOf(metric: Metric, selector: Tags | null): Sample[] {
  return selector ? metric.samples.filter((s) => Object.entries(selector).every(([k, v]) => s.tags[k] === v)) : metric.samples;
}

/** TrendSink.P of k6: linear interpolation between the two closest ranks. */
function percentile(sorted: number[], fraction: number): number {
  if (sorted.length < 2) return sorted[0] ?? 0;
  const i = fraction * (sorted.length - 1);
  const lo = sorted[Math.floor(i)]!;
  return lo + (sorted[Math.ceil(i)]! - lo) * (i - Math.floor(i));
}

/** One aggregation as k6's sinks compute it; a counter's rate is per second of the run. */
function aggregate(type: MetricKind, samples: Sample[], aggregation: string, durationMs: number): number {
  const values = samples.map((s) => s.value);
  const sum = values.reduce((a, b) => a + b, 0);
  const sorted = () => values.sort((a, b) => a - b);
  if (values.length === 0 && aggregation !== "count" && aggregation !== "rate") return 0;
  if (aggregation === "count") return type === "trend" ? values.length : sum;
  if (aggregation === "rate" && type === "counter") return durationMs > 0 ? sum / (durationMs / 1000) : 0;
  if (aggregation === "rate") return values.length && values.filter((v) => v !== 0).length / values.length;
  if (aggregation === "value") return values[values.length - 1]!;
  if (aggregation === "avg") return sum / values.length;
  if (aggregation === "min") return sorted()[0]!;
  if (aggregation === "max") return sorted()[values.length - 1]!;
  return percentile(sorted(), aggregation === "med" ? 0.5 : Number(/^p\((.+)\)$/.exec(aggregation)![1]) / 100);
}

export function passes(t: Threshold, records: Records, durationMs: number): boolean {
  const m = records.metrics[t.metric]!;
  return meets(t.parsed, aggregate(m.type, samplesOf(m, t.selector), t.parsed.aggregation, durationMs));
}

export interface SummaryMetric {
  type: string;
  contains: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

type SummaryCheck = { name: string; path: string; id: string; passes: number; fails: number };
type SummaryGroup = { name: string; path: string; id: string; groups: SummaryGroup[]; checks: SummaryCheck[] };

/** `key<sep>value`, numbers rounded to `digits` decimals as k6 prints them. */
const pair =
  (sep: string, digits?: number) =>
  ([k, v]: [string, string | number]): string =>
    `${k}${sep}${typeof v === "number" && digits !== undefined ? Number(v.toFixed(digits)) : v}`;
const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const STATS: Record<MetricKind, string[]> = {
  counter: ["count", "rate"],
  gauge: ["value", "min", "max"],
  rate: ["rate", "passes", "fails"],
  trend: [],
};

function values(m: Metric, samples: Sample[], durationMs: number, trendStats: string[]): Record<string, number> {
  const passing = samples.filter((s) => s.value !== 0).length;
  const special: Record<string, number> = { passes: passing, fails: samples.length - passing };
  const stats = m.type === "trend" ? trendStats : STATS[m.type];
  return Object.fromEntries(stats.map((s) => [s, special[s] ?? aggregate(m.type, samples, s, durationMs)]));
}

function rootGroup(records: Records): SummaryGroup {
  const byPath = new Map<string, SummaryGroup>();
  const group = (path: string): SummaryGroup => {
    const known = byPath.get(path);
    if (known) return known;
    const cut = path.lastIndexOf("::");
    const made: SummaryGroup = { name: path.slice(cut + 2), path, id: md5(path), groups: [], checks: [] };
    byPath.set(path, made);
    if (path !== "") group(path.slice(0, Math.max(cut, 0))).groups.push(made);
    return made;
  };
  const root = group("");
  for (const path of records.groups) group(path);
  for (const [path, { name, group: parent, passes, fails }] of Object.entries(records.checks)) {
    group(parent).checks.push({ name, path, id: md5(path), passes, fails });
  }
  return root;
}

/** k6 reports every metric with samples, plus each one with thresholds (sub-metrics as "name{tag:value}"). */
export function summaryData(records: Records, thresholds: Threshold[], options: Options, durationMs: number, setupData: unknown) {
  const trendStats = options.summaryTrendStats ?? ["avg", "min", "med", "max", "p(90)", "p(95)"];
  const metrics: Record<string, SummaryMetric> = {};
  const entry = (name: string, selector: Tags | null): SummaryMetric => {
    const m = records.metrics[name]!;
    const key = selector ? `${name}{${Object.entries(selector).map(pair(":")).join(",")}}` : name;
    return (metrics[key] ??= { type: m.type, contains: m.contains, values: values(m, samplesOf(m, selector), durationMs, trendStats) });
  };
  for (const [name, m] of Object.entries(records.metrics)) if (m.samples.length > 0) entry(name, null);
  const expected = { expected_response: "true" };
  if (samplesOf(records.metrics.http_req_duration!, expected).length > 0) entry("http_req_duration", expected);
  for (const t of thresholds) {
    entry(t.metric, null);
    (entry(t.metric, t.selector).thresholds ??= {})[t.expression] = { ok: passes(t, records, durationMs) };
  }
  return {
    root_group: rootGroup(records),
    options: { summaryTrendStats: trendStats, summaryTimeUnit: "", noColor: false },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    metrics,
    setup_data: setupData,
  };
}

export type SummaryData = ReturnType<typeof summaryData>;

/** Stands in for k6's end-of-test text when a script exports no handleSummary: one line per metric. */
export function textSummary(data: SummaryData): string {
  return Object.entries(data.metrics)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, m]) => `  ${name}: ${Object.entries(m.values).map(pair("=", 3)).join(" ")}\n`)
    .join("");
}
