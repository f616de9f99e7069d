// k6's threshold semantics: parse `options.thresholds` (metric keys with optional `{tag:value}`
// sub-metric selectors; expressions "<aggregation> <op> <number>"; string or {threshold,
// abortOnFail} items), validate them against the registered metrics like k6 (exit 104 when invalid),
// and evaluate them on the collected samples with k6's sink arithmetic.
import type { MetricDef, MetricType, Sample, Tags } from "./runtime.ts";

export class InvalidThreshold extends Error {}

export interface Threshold {
  /** Key exactly as written in options.thresholds, e.g. "reserve_errors{code:40001}". */
  key: string;
  metric: string;
  selector: Tags | null;
  expression: string;
  aggregation: string;
  operator: string;
  value: number;
  abortOnFail: boolean;
}

const AGGREGATIONS: Record<MetricType, RegExp> = {
  counter: /^(count|rate)$/,
  gauge: /^value$/,
  rate: /^rate$/,
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/,
};

const EXPRESSION = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/;

export function parseKey(key: string): { metric: string; selector: Tags | null } {
  const open = key.indexOf("{");
  if (open === -1) return { metric: key.trim(), selector: null };
  if (!key.trimEnd().endsWith("}")) throw new InvalidThreshold(`sub-metric "${key}" must end with "}"`);
  const selector: Tags = {};
  const inner = key.trim().slice(open + 1, -1);
  for (const part of inner.split(",")) {
    const colon = part.indexOf(":");
    if (colon === -1) throw new InvalidThreshold(`sub-metric "${key}": "${part}" is not a tag:value pair`);
    selector[part.slice(0, colon).trim()] = part.slice(colon + 1).trim().replace(/^["']|["']$/g, "");
  }
  return { metric: key.slice(0, open).trim(), selector };
}

export function parseThresholds(raw: unknown, metrics: Map<string, MetricDef>): Threshold[] {
  if (raw === undefined) return [];
  if (raw === null || typeof raw !== "object") throw new InvalidThreshold("options.thresholds must be an object");
  const out: Threshold[] = [];
  for (const [key, items] of Object.entries(raw as Record<string, unknown>)) {
    const { metric, selector } = parseKey(key);
    const def = metrics.get(metric);
    if (!def) throw new InvalidThreshold(`invalid threshold defined on ${key}; reason: no metric name "${metric}" found`);
    if (!Array.isArray(items)) throw new InvalidThreshold(`thresholds of ${key} must be an array`);
    for (const item of items as unknown[]) {
      const spec = typeof item === "string" ? { threshold: item, abortOnFail: false } : (item as { threshold?: unknown; abortOnFail?: unknown });
      if (!spec || typeof spec.threshold !== "string") {
        throw new InvalidThreshold(`threshold on ${key} must be a string or {threshold: string, abortOnFail?: boolean}`);
      }
      const m = EXPRESSION.exec(spec.threshold);
      if (!m) throw new InvalidThreshold(`invalid threshold expression "${spec.threshold}" on ${key}`);
      const [, aggregation, operator, value] = m;
      if (!AGGREGATIONS[def.type].test(aggregation!)) {
        throw new InvalidThreshold(
          `invalid threshold defined on ${key}; reason: threshold's "${aggregation}" aggregation method is not supported by the ${def.type} metric type`,
        );
      }
      out.push({
        key, metric, selector, expression: spec.threshold, aggregation: aggregation!, operator: operator!,
        value: Number(value), abortOnFail: spec.abortOnFail === true,
      });
    }
  }
  return out;
}

export function matches(sample: Sample, selector: Tags | null): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => sample.tags[k] === v);
}

/** TrendSink.P from k6: linear interpolation between the two closest ranks. */
export function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  if (sorted.length === 1) return sorted[0]!;
  const i = fraction * (sorted.length - 1);
  const lo = sorted[Math.floor(i)]!;
  const hi = sorted[Math.ceil(i)]!;
  return lo + (hi - lo) * (i - Math.floor(i));
}

export function aggregate(type: MetricType, samples: Sample[], aggregation: string, durationMs: number): number {
  const values = samples.map((s) => s.value);
  switch (aggregation) {
    case "count":
      return values.reduce((a, b) => a + b, 0);
    case "rate":
      if (type === "counter") return durationMs > 0 ? values.reduce((a, b) => a + b, 0) / (durationMs / 1000) : 0;
      return values.length === 0 ? 0 : values.filter((v) => v !== 0).length / values.length;
    case "value":
      return values.length === 0 ? 0 : values[values.length - 1]!;
    case "avg":
      return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
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

function compare(left: number, operator: string, right: number): boolean {
  switch (operator) {
    case "<": return left < right;
    case "<=": return left <= right;
    case ">": return left > right;
    case ">=": return left >= right;
    case "==":
    case "===": return left === right;
    default: return left !== right;
  }
}

export function passes(t: Threshold, def: MetricDef, durationMs: number): boolean {
  const samples = def.samples.filter((s) => matches(s, t.selector));
  return compare(aggregate(def.type, samples, t.aggregation, durationMs), t.operator, t.value);
}
