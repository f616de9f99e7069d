// Turns thresholds.json into the k6 `options.thresholds` of one bundle, validates the file (build.mjs
// refuses to bundle a bad one and names the entry), and evaluates a threshold itself for k6's newer
// machine-readable summary, which reports values but not threshold outcomes. The one parser of k6's
// threshold grammar in the project: the k6 test doubles judge with it too. Pure module: no k6 import.
import { BUNDLE_NAMES, teardownChecks, type BundleName } from "./bundles.ts";
import { TAXONOMY_CODES } from "./classify.ts";
import { isObject } from "./json.ts";
import { metricKind, type MetricKind } from "./metric-names.ts";

type ThresholdEntry = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string };
export type ThresholdMap = Record<string, ThresholdEntry[]>;

export interface ThresholdsFile {
  goals: Record<string, ThresholdMap>;
  always: ThresholdMap;
  bundles: Record<string, string>;
}

/** Added for every taxonomy code so its count reaches handleSummary; the summary shows it as tracked, not as a goal. */
export const TRACKING_EXPRESSION = "count>=0";

const EXPRESSION = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;
const METRIC_KEY = /^([a-z_][a-z0-9_]*)(?:\{([^{}]+)\})?$/i;
const TAG = /^\s*([a-z_][a-z0-9_]*)\s*:\s*(.+?)\s*$/i;

const AGGREGATIONS_BY_KIND: Record<MetricKind, RegExp> = {
  trend: /^(avg|min|max|med|p\(.*\))$/,
  rate: /^rate$/,
  counter: /^(count|rate)$/,
  gauge: /^value$/,
};

export interface ParsedExpression {
  aggregation: string;
  operator: string;
  value: number;
}

/** A threshold key: a metric name, optionally with a sub-metric selector `{tag:value, ...}` (quotes around a value dropped). */
export function parseMetricKey(key: string): { metric: string; tags: Record<string, string> | null } | null {
  const m = METRIC_KEY.exec(key.trim());
  if (!m) return null;
  if (m[2] === undefined) return { metric: m[1]!, tags: null };
  const tags: Record<string, string> = {};
  for (const part of m[2].split(",")) {
    const t = TAG.exec(part);
    if (!t) return null;
    tags[t[1]!] = t[2]!.replace(/^["']|["']$/g, "");
  }
  return { metric: m[1]!, tags };
}

/** Whether an aggregation (count, rate, p(99), ...) applies to a kind of metric, as k6 decides. */
export function aggregationApplies(kind: MetricKind, aggregation: string): boolean {
  return AGGREGATIONS_BY_KIND[kind].test(aggregation);
}

export function parseExpression(expr: string): ParsedExpression | null {
  const m = EXPRESSION.exec(expr);
  if (!m) return null;
  const pct = m[2] === undefined ? undefined : Number(m[2]);
  if (pct !== undefined && !(pct >= 0 && pct <= 100)) return null;
  return { aggregation: m[1]!, operator: m[3]!, value: Number(m[4]) };
}

function expressionOf(entry: ThresholdEntry): string {
  return typeof entry === "string" ? entry : entry.threshold;
}

function validateMap(where: string, map: unknown, problems: string[]): void {
  if (!isObject(map)) {
    problems.push(`${where}: must be an object of metric name → list of expressions`);
    return;
  }
  for (const [key, list] of Object.entries(map)) {
    const at = `${where}["${key}"]`;
    const km = parseMetricKey(key);
    const kind = km ? metricKind(km.metric) : undefined;
    if (!km || kind === undefined) {
      problems.push(
        `${at}: unknown metric; use one the suite records (lib/metric-names.ts), optionally with a tag filter like reserve_errors{code:40001}`,
      );
      continue;
    }
    if (!Array.isArray(list) || list.length === 0) {
      problems.push(`${at}: must be a non-empty list of expressions such as "p(99)<500"`);
      continue;
    }
    list.forEach((entry, i) => {
      const validShape =
        typeof entry === "string" ||
        (isObject(entry) &&
          typeof entry.threshold === "string" &&
          (entry.abortOnFail === undefined || typeof entry.abortOnFail === "boolean") &&
          (entry.delayAbortEval === undefined || typeof entry.delayAbortEval === "string"));
      if (!validShape) {
        problems.push(`${at}[${i}]: must be an expression string or {"threshold": "...", "abortOnFail": true}`);
        return;
      }
      const expr = expressionOf(entry as ThresholdEntry);
      const parsed = parseExpression(expr);
      if (!parsed) {
        problems.push(`${at}[${i}]: "${expr}" is not a k6 threshold expression; write e.g. "p(99)<500", "rate<0.01" or "count==0"`);
      } else if (!aggregationApplies(kind, parsed.aggregation)) {
        problems.push(`${at}[${i}]: "${parsed.aggregation}" does not apply to ${km.metric} (a ${kind} metric)`);
      }
    });
  }
}

/** Every problem in a thresholds file, each naming the bad entry; empty when the file is usable. */
export function validateThresholds(file: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(file)) return ["thresholds.json: must be a JSON object with goals, always and bundles"];
  if (!isObject(file.goals)) problems.push("goals: must be an object of group name → thresholds");
  else for (const [group, map] of Object.entries(file.goals)) validateMap(`goals.${group}`, map, problems);
  validateMap("always", file.always ?? {}, problems);
  if (!isObject(file.bundles)) {
    problems.push(`bundles: must map every bundle (${BUNDLE_NAMES.join(", ")}) to a group of goals`);
  } else {
    const groups = isObject(file.goals) ? Object.keys(file.goals) : [];
    for (const [bundle, group] of Object.entries(file.bundles)) {
      if (!BUNDLE_NAMES.includes(bundle as BundleName))
        problems.push(`bundles.${bundle}: no such bundle; known: ${BUNDLE_NAMES.join(", ")}`);
      else if (typeof group !== "string" || !groups.includes(group)) {
        problems.push(`bundles.${bundle}: "${String(group)}" is not a group under goals (${groups.join(", ")})`);
      }
    }
    for (const bundle of BUNDLE_NAMES) {
      if (!(bundle in file.bundles)) problems.push(`bundles.${bundle}: missing; say which group of goals judges it`);
    }
  }
  return problems;
}

/** The k6 thresholds of one bundle: its group, the `always` set, one tracked entry per taxonomy code and one per teardown check. */
export function buildThresholds(file: ThresholdsFile, bundle: BundleName): ThresholdMap {
  const group = file.goals[file.bundles[bundle]!];
  if (!group) throw new Error(`thresholds.json: bundles.${bundle} names no group under goals`);
  const out: ThresholdMap = {};
  const add = (map: ThresholdMap) => {
    for (const [key, list] of Object.entries(map)) out[key] = [...(out[key] ?? []), ...list];
  };
  add(group);
  add(file.always);
  for (const code of TAXONOMY_CODES) {
    const key = `reserve_errors{code:${code}}`;
    if (!out[key]) out[key] = [TRACKING_EXPRESSION];
  }
  for (const check of teardownChecks(bundle)) out[`invariant_violations{check:${check}}`] = ["count==0"];
  return out;
}

/** Whether a value meets a parsed expression. */
export function meets(parsed: ParsedExpression, actual: number): boolean {
  const expected = parsed.value;
  switch (parsed.operator) {
    case "<":
      return actual < expected;
    case "<=":
      return actual <= expected;
    case ">":
      return actual > expected;
    case ">=":
      return actual >= expected;
    case "!=":
      return actual !== expected;
    default:
      return actual === expected;
  }
}

/** Outcome of one expression against a metric's summary values; null when the needed value is absent. */
export function evaluateExpression(expr: string, values: Readonly<Record<string, number>>): boolean | null {
  const parsed = parseExpression(expr);
  if (!parsed) return null;
  const key = parsed.aggregation.replace(/^p\((\d+(?:\.\d+)?)\)$/, (_m, p: string) => `p(${Number(p)})`);
  const actual = values[key] ?? (key === "med" ? values["p(50)"] : key === "p(50)" ? values.med : undefined);
  return typeof actual === "number" ? meets(parsed, actual) : null;
}

export function thresholdExpressions(map: ThresholdMap): { metric: string; expression: string }[] {
  return Object.entries(map).flatMap(([metric, list]) => list.map((e) => ({ metric, expression: expressionOf(e) })));
}
