// Declares the custom metrics VU code records, once, at init (k6 only allows that there), under the
// names listed in lib/metric-names.ts so thresholds and the summary find them. Each declaration costs
// every VU ~3 KB of heap under k6 v0.49, so the ones only teardown records live in teardown.ts.
import { Counter, Rate, Trend } from "k6/metrics";

export const reserveLatency = new Trend("reserve_latency", true);
export const checkoutLatency = new Trend("checkout_latency", true);
export const paymentLatency = new Trend("payment_latency", true);
export const reserveFailures = new Rate("reserve_failures");
export const checkoutFailures = new Rate("checkout_failures");
export const paymentFailures = new Rate("payment_failures");
export const reserveErrors = new Counter("reserve_errors");
/**
 * One sample per database transaction a reserve took: true for each that met a 40001/40P01 (the retries the
 * server spent, from X-Serialization-Retries, and a 40001/40P01 answer), false for the answer's own
 * otherwise. Its rate is the 40001 rate before retries, the race lab's figure that the Liventix Advanced Load Testing Guide bounds at 5 %.
 */
export const reserveConflicts = new Rate("reserve_conflicts");
/** The 40001/40P01 retries the server spent before its answers (X-Serialization-Retries), summed. */
export const reserveSerializationRetries = new Counter("reserve_serialization_retries");
export const retries = new Counter("retries");
export const idempotentReplays = new Counter("idempotent_replays");
export const invariantViolations = new Counter("invariant_violations");
/** How late k6 wakes a VU from a short sleep: its own scheduling delay, which every latency it measures includes. */
export const generatorLag = new Trend("generator_lag", true);
