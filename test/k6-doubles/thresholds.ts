// k6's threshold semantics over the doubles' samples: `options.thresholds` parsed with the project's
// one parser of k6's grammar (lib/thresholds.ts), validated against the registered metrics like k6
// (exit 104 when invalid), and judged with k6's sink arithmetic.
import { aggregationApplies, meets, parseExpression, parseMetricKey, type ParsedExpression } from "../../lib/thresholds.ts";
import type { MetricDef, MetricType, Sample, Tags } from "./runtime.ts";

export class InvalidThreshold extends Error {}

export interface Threshold {
  /** Key exactly as written in options.thresholds, e.g. "reserve_errors{code:40001}". */
  key: string;
  metric: string;
  selector: Tags | null;
  expression: string;
  parsed: ParsedExpression;
  abortOnFail: boolean;
}

export function parseThresholds(raw: unknown, metrics: Map<string, MetricDef>): Threshold[] {
  if (raw === undefined) return [];
  if (raw === null || typeof raw !== "object") throw new InvalidThreshold("options.thresholds must be an object");
  const out: Threshold[] = [];
  for (const [key, items] of Object.entries(raw as Record<string, unknown>)) {
    const parsedKey = parseMetricKey(key);
    if (!parsedKey) throw new InvalidThreshold(`invalid threshold defined on ${key}; reason: not a metric name with an optional {tag:value} selector`);
    const def = metrics.get(parsedKey.metric);
    if (!def) throw new InvalidThreshold(`invalid threshold defined on ${key}; reason: no metric name "${parsedKey.metric}" found`);
    if (!Array.isArray(items)) throw new InvalidThreshold(`thresholds of ${key} must be an array`);
    for (const item of items as unknown[]) {
      const spec = typeof item === "string" ? { threshold: item, abortOnFail: false } : (item as { threshold?: unknown; abortOnFail?: unknown });
      if (!spec || typeof spec.threshold !== "string") {
        throw new InvalidThreshold(`threshold on ${key} must be a string or {threshold: string, abortOnFail?: boolean}`);
      }
      const parsed = parseExpression(spec.threshold);
      if (!parsed) throw new InvalidThreshold(`invalid threshold expression "${spec.threshold}" on ${key}`);
      if (!aggregationApplies(def.type, parsed.aggregation)) {
        throw new InvalidThreshold(
          `invalid threshold defined on ${key}; reason: threshold's "${parsed.aggregation}" aggregation method is not supported by the ${def.type} metric type`,
        );
      }
      out.push({ key, metric: parsedKey.metric, selector: parsedKey.tags, expression: spec.threshold, parsed, abortOnFail: spec.abortOnFail === true });
    }
  }
  return out;
}

export function matches(sample: Sample, selector: Tags | null): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => sample.tags[k] === v);
}

/** TrendSink.P from k6: linear interpolation between the two closest ranks. */
function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  if (sorted.length === 1) return sorted[0]!;
  const i = fraction * (sorted.length - 1);
  const lo = sorted[Math.floor(i)]!;
  const hi = sorted[Math.ceil(i)]!;
  return lo + (hi - lo) * (i - Math.floor(i));
}

/** One aggregation of a metric's samples, as k6's sinks compute it (counter rate per second of the run). */
export function aggregate(type: MetricType, samples: Sample[], aggregation: string, durationMs: number): number {
  const values = samples.map((s) => s.value);
  const sum = () => values.reduce((a, b) => a + b, 0);
  switch (aggregation) {
    case "count":
      return type === "trend" ? values.length : sum();
    case "rate":
      if (type === "counter") return durationMs > 0 ? sum() / (durationMs / 1000) : 0;
      return values.length === 0 ? 0 : values.filter((v) => v !== 0).length / values.length;
    case "value":
      return values.length === 0 ? 0 : values[values.length - 1]!;
    case "avg":
      return values.length === 0 ? 0 : sum() / values.length;
    case "min":
      return values.length === 0 ? 0 : Math.min(...values);
    case "max":
      return values.length === 0 ? 0 : Math.max(...values);
    case "med":
      return percentile([...values].sort((a, b) => a - b), 0.5);
    default: {
      const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(aggregation);
      if (!p) throw new InvalidThreshold(`unknown aggregation ${aggregation}`);
      return percentile([...values].sort((a, b) => a - b), Number(p[1]) / 100);
    }
  }
}

export function passes(t: Threshold, def: MetricDef, durationMs: number): boolean {
  return meets(t.parsed, aggregate(def.type, def.samples.filter((s) => matches(s, t.selector)), t.parsed.aggregation, durationMs));
}
