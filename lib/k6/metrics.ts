// Declares every custom metric once, at init (k6 only allows that there), under the names listed in
// lib/metric-names.ts so thresholds and the summary find them.
import { Counter, Gauge, Rate, Trend } from "k6/metrics";
import { CAPACITY_FIELDS, capacityMetric, type CapacityField } from "../metric-names.ts";

export const reserveLatency = new Trend("reserve_latency", true);
export const checkoutLatency = new Trend("checkout_latency", true);
export const paymentLatency = new Trend("payment_latency", true);
export const reserveFailures = new Rate("reserve_failures");
export const soldOut = new Rate("sold_out");
export const paymentFailures = new Rate("payment_failures");
export const reserveErrors = new Counter("reserve_errors");
export const retries = new Counter("retries");
export const idempotentReplays = new Counter("idempotent_replays");
export const oversellDetected = new Counter("oversell_detected");
export const invariantViolations = new Counter("invariant_violations");
export const invariantsChecked = new Gauge("invariants_checked");

export const capacityGauges = Object.fromEntries(CAPACITY_FIELDS.map((f) => [f, new Gauge(capacityMetric(f))])) as Record<CapacityField, Gauge>;
