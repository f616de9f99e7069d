// Names and kinds of every metric the suite records or judges, in one place so that the k6 adapter
// declares them, thresholds.json is validated against them and the summary reads them by the same name.
// Pure module: no k6 import.

export type MetricKind = "trend" | "rate" | "counter" | "gauge";

const CUSTOM_METRICS = {
  reserve_latency: "trend",
  checkout_latency: "trend",
  payment_latency: "trend",
  reserve_failures: "rate",
  checkout_failures: "rate",
  payment_failures: "rate",
  reserve_errors: "counter",
  reserve_conflicts: "rate",
  reserve_serialization_retries: "counter",
  retries: "counter",
  idempotent_replays: "counter",
  oversell_detected: "counter",
  invariant_violations: "counter",
  invariants_checked: "gauge",
  generator_lag: "trend",
} as const satisfies Record<string, MetricKind>;

type CustomMetric = keyof typeof CUSTOM_METRICS;

/** k6's own metrics that thresholds.json may judge. */
export const BUILTIN_METRICS = {
  http_req_duration: "trend",
  http_req_failed: "rate",
  http_reqs: "counter",
  iteration_duration: "trend",
  iterations: "counter",
  checks: "rate",
  dropped_iterations: "counter",
} as const satisfies Record<string, MetricKind>;

/** Fields of load_test_capacity recorded as gauges `capacity_<field>` in teardown, for the summary. */
export const CAPACITY_FIELDS = [
  "total_tickets",
  "sold",
  "reserved",
  "inventory_utilisation",
  "holds_total",
  "holds_active",
  "holds_converted",
  "holds_expired",
  "holds_released",
  "holds_expired_per_minute",
  "reservations",
  "orders_paid",
  "conversion_rate",
  "cart_abandonment_rate",
  "project_overdue_holds",
] as const;
export type CapacityField = (typeof CAPACITY_FIELDS)[number];
export type Capacity = Partial<Record<CapacityField, number>>;

export function capacityMetric(field: CapacityField): string {
  return `capacity_${field}`;
}

export function metricKind(name: string): MetricKind | undefined {
  const base = name.replace(/\{.*\}$/, "");
  if (Object.hasOwn(CUSTOM_METRICS, base)) return CUSTOM_METRICS[base as CustomMetric];
  if (Object.hasOwn(BUILTIN_METRICS, base)) return BUILTIN_METRICS[base as keyof typeof BUILTIN_METRICS];
  if ((CAPACITY_FIELDS as readonly string[]).some((f) => capacityMetric(f as CapacityField) === base)) return "gauge";
  return undefined;
}

/** Trend statistics in the summary: p(99.9) is only computed when listed here. */
export const SUMMARY_TREND_STATS = ["avg", "min", "med", "max", "p(50)", "p(90)", "p(95)", "p(99)", "p(99.9)", "count"];
