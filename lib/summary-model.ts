// Normalises what k6 hands to handleSummary into one model the renderers share. k6 has two shapes:
// the classic one (metrics keyed by name, thresholds with `ok`, checks under root_group) and the
// opt-in machine-readable one of k6 >= 1.5 (metrics as an array, checks under results, no threshold
// outcomes — those are evaluated here from the values). Anything else yields an empty model instead
// of a crash, so the run's own exit code still speaks. Pure module: no k6 import.
import type { InvariantRow } from "./invariants.ts";
import { isObject } from "./json.ts";
import { CAPACITY_FIELDS, capacityMetric, type Capacity } from "./metric-names.ts";
import { evaluateExpression, thresholdExpressions, TRACKING_EXPRESSION, type ThresholdMap } from "./thresholds.ts";

interface MetricSummary {
  type: string;
  values: Record<string, number>;
}

interface ThresholdOutcome {
  metric: string;
  expression: string;
  /** null: k6 did not say and the value needed to evaluate it is absent. */
  ok: boolean | null;
  /** A tracking entry (count>=0) that only exists so a tagged count reaches the summary. */
  tracking: boolean;
}

interface CheckOutcome {
  name: string;
  passes: number;
  fails: number;
}

/** One teardown check as the summary can know it from metrics: passed, failed, or never run. */
export interface InvariantOutcome {
  name: string;
  passed: boolean | null;
  violations: number;
}

export interface SummaryModel {
  shape: "classic" | "machine-readable" | "unknown";
  durationMs: number | null;
  metrics: Record<string, MetricSummary>;
  thresholds: ThresholdOutcome[];
  checks: CheckOutcome[];
}

function numericValues(values: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isObject(values)) return out;
  for (const [k, v] of Object.entries(values)) if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  return out;
}

function collectChecks(group: unknown, into: CheckOutcome[]): void {
  if (!isObject(group)) return;
  const checks = group.checks;
  const list = Array.isArray(checks) ? checks : isObject(checks) ? Object.values(checks) : [];
  for (const c of list) {
    if (isObject(c) && typeof c.name === "string") {
      into.push({ name: c.name, passes: Number(c.passes) || 0, fails: Number(c.fails) || 0 });
    }
  }
  const groups = group.groups;
  for (const g of Array.isArray(groups) ? groups : isObject(groups) ? Object.values(groups) : []) collectChecks(g, into);
}

/**
 * @param data what k6 passed to handleSummary
 * @param expected the bundle's thresholds, used to list and evaluate them where k6 gives no outcome
 */
export function normalizeSummary(data: unknown, expected: ThresholdMap): SummaryModel {
  const model: SummaryModel = { shape: "unknown", durationMs: null, metrics: {}, thresholds: [], checks: [] };
  if (!isObject(data)) return withThresholds(model, expected, {});
  const kOutcomes: Record<string, boolean> = {};

  if (isObject(data.results) && Array.isArray(data.results.metrics)) {
    model.shape = "machine-readable";
    for (const m of data.results.metrics) {
      if (!isObject(m) || typeof m.name !== "string") continue;
      const values = numericValues(m.values);
      // Rates there report matches/total; the renderers read classic passes/fails.
      if (m.type === "rate" && values.total !== undefined) {
        values.passes = values.matches ?? 0;
        values.fails = values.total - (values.matches ?? 0);
      }
      model.metrics[m.name] = { type: String(m.type ?? ""), values };
    }
    const results = isObject(data.results.checks) ? data.results.checks.results : undefined;
    if (Array.isArray(results)) collectChecks({ checks: results }, model.checks);
    if (isObject(data.config) && typeof data.config.duration === "number") model.durationMs = data.config.duration * 1000;
  } else if (isObject(data.metrics)) {
    model.shape = "classic";
    for (const [name, m] of Object.entries(data.metrics)) {
      if (!isObject(m)) continue;
      model.metrics[name] = { type: String(m.type ?? ""), values: numericValues(m.values) };
      if (isObject(m.thresholds)) {
        for (const [expr, t] of Object.entries(m.thresholds)) if (isObject(t)) kOutcomes[`${name}\u0000${expr}`] = t.ok === true;
      }
    }
    collectChecks(data.root_group, model.checks);
    if (isObject(data.state) && typeof data.state.testRunDurationMs === "number") model.durationMs = data.state.testRunDurationMs;
  }
  return withThresholds(model, expected, kOutcomes);
}

function withThresholds(model: SummaryModel, expected: ThresholdMap, kOutcomes: Record<string, boolean>): SummaryModel {
  model.thresholds = thresholdExpressions(expected).map(({ metric, expression }) => {
    const fromK6 = kOutcomes[`${metric}\u0000${expression}`];
    const values = model.metrics[metric]?.values;
    const ok = fromK6 !== undefined ? fromK6 : values ? evaluateExpression(expression, values) : metricNeverRecorded(expression);
    return { metric, expression, ok, tracking: expression === TRACKING_EXPRESSION };
  });
  return model;
}

// A metric with no sample at all: a zero-count goal holds (nothing was violated), anything else is unknown.
function metricNeverRecorded(expression: string): boolean | null {
  return evaluateExpression(expression, { count: 0 }) === true ? true : null;
}

export function metricValue(model: SummaryModel, metric: string, stat: string): number | undefined {
  return model.metrics[metric]?.values[stat];
}

/** Share of reservations (final answers, retries settled) that found nothing left to sell. */
export function soldOutRate(model: SummaryModel): number | undefined {
  const settled = (metricValue(model, "reserve_failures", "passes") ?? 0) + (metricValue(model, "reserve_failures", "fails") ?? 0);
  return settled > 0 ? (metricValue(model, "reserve_errors{code:INSUFFICIENT_INVENTORY}", "count") ?? 0) / settled : undefined;
}

/** The reserve's 40001 rate before retries, from reserve_conflicts (one sample per database transaction). */
export interface ConflictTally {
  /** Transactions that met a 40001/40P01: the server's retries and the answers that carried one. */
  conflicts: number;
  transactions: number;
  /** Retries the server spent (X-Serialization-Retries), from reserve_serialization_retries (absent: none). */
  serverRetries: number;
  rate: number;
}

export function conflictTally(model: SummaryModel): ConflictTally | undefined {
  const conflicts = metricValue(model, "reserve_conflicts", "passes");
  const clean = metricValue(model, "reserve_conflicts", "fails");
  if (conflicts === undefined || clean === undefined || conflicts + clean === 0) return undefined;
  const serverRetries = metricValue(model, "reserve_serialization_retries", "count") ?? 0;
  return { conflicts, transactions: conflicts + clean, serverRetries, rate: conflicts / (conflicts + clean) };
}

/** Teardown results as recorded in metrics: `invariant_violations{check:NAME}` per check, `invariants_checked` once. */
export function invariantOutcomes(model: SummaryModel, checks: readonly string[]): InvariantOutcome[] {
  const checked = metricValue(model, "invariants_checked", "value") !== undefined;
  return checks.map((name) => {
    const violations = metricValue(model, `invariant_violations{check:${name}}`, "count") ?? 0;
    return { name, violations, passed: violations > 0 ? false : checked ? true : null };
  });
}

export function capacityFromModel(model: SummaryModel): Capacity | null {
  const capacity: Capacity = {};
  for (const field of CAPACITY_FIELDS) {
    const v = metricValue(model, capacityMetric(field), "value");
    if (v !== undefined) capacity[field] = v;
  }
  return Object.keys(capacity).length > 0 ? capacity : null;
}

/** Rows of load_test_invariants as the shared table renders them. */
export function rowsToOutcomes(rows: readonly InvariantRow[]): (InvariantOutcome & { observed: string; detail: string })[] {
  return rows.map((r) => ({ name: r.check_name, passed: r.passed, violations: r.passed ? 0 : 1, observed: r.observed, detail: r.detail }));
}
