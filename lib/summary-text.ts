// The "K6 LOAD TEST SUMMARY" printed at the end of a run, and the invariant and capacity tables that
// `npm run verify` prints too (one renderer, so both always look alike). Plain text, no colours, so it
// reads the same in a terminal, a CI log and a file. Pure module: no k6 import.
import { TAXONOMY_CODES, TAXONOMY_LABELS } from "./classify.ts";
import { TAXONOMY } from "./errors.ts";
import type { Capacity } from "./metric-names.ts";
import {
  capacityFromModel,
  conflictTally,
  invariantOutcomes,
  metricValue,
  soldOutRate,
  type InvariantOutcome,
  type SummaryModel,
} from "./summary-model.ts";

export interface RunContext {
  bundle: string;
  profile: string;
  scenario: string;
  /** Redacted target URL. */
  target: string;
  eventId: string | null;
  /**
   * Inventory rows per tier of the event setup() created (1: the Liventix Advanced Load Testing Guide's
   * single row); null: the user's own event.
   */
  bucketsPerTier: number | null;
  checks: readonly string[];
  /** k6's web dashboard export of this run (charts over time): its name beside the report, or its path elsewhere. */
  dashboard: string | null;
}

const RULE = "=".repeat(72);

export function fmtMs(v: number | undefined): string {
  return v === undefined ? "-" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v >= 100 ? 0 : 1)} ms`;
}

export function fmtPct(rate: number | undefined): string {
  return rate === undefined ? "-" : `${(rate * 100).toFixed(2)} %`;
}

export function fmtCount(v: number | undefined): string {
  return v === undefined ? "-" : String(Math.round(v));
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function padLeft(text: string, width: number): string {
  return text.length >= width ? text : " ".repeat(width - text.length) + text;
}

export const LATENCY_STATS = ["p(50)", "p(90)", "p(99)", "p(99.9)"] as const;
export const LATENCY_METRICS = ["http_req_duration", "reserve_latency", "checkout_latency", "payment_latency"] as const;

function statOf(model: SummaryModel, metric: string, stat: string): number | undefined {
  return metricValue(model, metric, stat) ?? (stat === "p(50)" ? metricValue(model, metric, "med") : undefined);
}

function latencyTable(model: SummaryModel): string[] {
  const lines = [`  ${pad("", 20)}${LATENCY_STATS.map((s) => padLeft(s, 11)).join("")}${padLeft("count", 9)}`];
  for (const metric of LATENCY_METRICS) {
    if (!model.metrics[metric]) continue;
    const cells = LATENCY_STATS.map((s) => padLeft(fmtMs(statOf(model, metric, s)), 11)).join("");
    lines.push(`  ${pad(metric, 20)}${cells}${padLeft(fmtCount(metricValue(model, metric, "count")), 9)}`);
  }
  return lines;
}

/**
 * One row per code: answers with that code, per reserve answer. The 40001 row is the rate the guide bounds
 * instead (when reserve_conflicts was recorded): transactions that met a 40001, the server's own retries
 * included, per transaction, as the race lab counts it.
 */
export function taxonomyRows(model: SummaryModel): { code: string; label: string; count: number; rate: number | undefined }[] {
  const attempts = metricValue(model, "reserve_latency", "count");
  const conflicts = conflictTally(model);
  return TAXONOMY_CODES.map((code) => {
    if (code === TAXONOMY.SERIALIZATION && conflicts) {
      return { code, label: "serialization before retries", count: conflicts.conflicts, rate: conflicts.rate };
    }
    const count = metricValue(model, `reserve_errors{code:${code}}`, "count") ?? 0;
    return { code, label: TAXONOMY_LABELS[code], count, rate: attempts ? count / attempts : undefined };
  });
}

/** What the 40001 row counts, in words, for the text and HTML reports; empty when reserve_conflicts is absent. */
export function conflictNote(model: SummaryModel): string[] {
  const c = conflictTally(model);
  if (!c) return [];
  return [
    `40001: ${fmtCount(c.conflicts)} of ${fmtCount(c.transactions)} reserve transactions met a serialization failure or deadlock,`,
    `${fmtCount(c.serverRetries)} of them retried by the server (X-Serialization-Retries); reserve_conflicts judges the rate (guide: < 5 %)`,
  ];
}

function icon(passed: boolean | null): string {
  return passed === null ? "➖" : passed ? "✅" : "❌";
}

/** Shared with `npm run verify`, which also knows what was observed. */
export function renderInvariantSection(rows: readonly (InvariantOutcome & { observed?: string; detail?: string })[]): string[] {
  const lines = ["INVARIANTS"];
  if (rows.every((r) => r.passed === null)) lines.push("  not checked (teardown could not read them; see the teardown log)");
  for (const r of rows) {
    const extra = r.observed
      ? `  ${r.observed}${r.detail ? ` (${r.detail})` : ""}`
      : r.passed === false
        ? `  violations: ${r.violations}`
        : "";
    lines.push(`  ${icon(r.passed)} ${pad(r.name, 30)}${extra}`.trimEnd());
  }
  return lines;
}

export function renderCapacitySection(c: Capacity | null): string[] {
  if (!c) return ["CAPACITY", "  not available (load_test_capacity was not read)"];
  return [
    "CAPACITY (load_test_capacity)",
    `  tickets ${fmtCount(c.total_tickets)}   sold ${fmtCount(c.sold)}   reserved ${fmtCount(c.reserved)}   utilisation ${fmtPct(c.inventory_utilisation)}`,
    `  holds ${fmtCount(c.holds_total)}: active ${fmtCount(c.holds_active)}, converted ${fmtCount(c.holds_converted)}, expired ${fmtCount(c.holds_expired)}, released ${fmtCount(c.holds_released)}   expired/min ${c.holds_expired_per_minute === undefined ? "-" : c.holds_expired_per_minute.toFixed(2)}`,
    `  reservations ${fmtCount(c.reservations)}   orders paid ${fmtCount(c.orders_paid)}   conversion ${fmtPct(c.conversion_rate)}   cart abandonment ${fmtPct(c.cart_abandonment_rate)}`,
  ];
}

/** The event's inventory design as the event line shows it; empty for the user's own event. */
export function inventoryDesign(buckets: number | null): string {
  if (buckets === null) return "";
  return buckets > 1 ? ` (${buckets} inventory buckets per tier)` : " (one inventory row per tier)";
}

/**
 * The run's verdict. setup() always returns the event it used, and k6's classic summary data carries what
 * setup() returned, so a classic summary without an event means setup never finished (k6 then exits 108
 * with nothing judged): that run is neither passed nor failed by its thresholds. The machine-readable
 * shape carries no setup data at all.
 */
export function runVerdict(model: SummaryModel, ctx: RunContext): { outcome: "passed" | "failed" | "aborted"; text: string } {
  const failed = model.thresholds.filter((t) => t.ok === false).length;
  if (model.shape === "classic" && ctx.eventId === null)
    return { outcome: "aborted", text: "ABORTED: setup() did not finish, so nothing was judged (see the error above)" };
  if (failed > 0) return { outcome: "failed", text: `FAILED (${failed} threshold${failed === 1 ? "" : "s"} crossed)` };
  return { outcome: "passed", text: "PASSED" };
}

export function renderSummaryText(model: SummaryModel, ctx: RunContext): string {
  const failed = model.thresholds.filter((t) => t.ok === false);
  const duration = model.durationMs === null ? "-" : `${(model.durationMs / 1000).toFixed(1)} s`;
  const reqs = metricValue(model, "http_reqs", "count");
  const lines: string[] = [
    RULE,
    "K6 LOAD TEST SUMMARY",
    RULE,
    `bundle ${ctx.bundle} (profile ${ctx.profile}, scenario ${ctx.scenario})   target ${ctx.target}`,
    `event ${ctx.eventId ?? "-"}${inventoryDesign(ctx.bucketsPerTier)}   duration ${duration}   summary shape ${model.shape}`,
    ...(ctx.dashboard ? [`web dashboard (over time) ${ctx.dashboard}`] : []),
    "",
    "HTTP",
    `  requests ${fmtCount(reqs)} (${metricValue(model, "http_reqs", "rate")?.toFixed(1) ?? "-"}/s)   failed ${fmtPct(metricValue(model, "http_req_failed", "rate"))} (expected 409s excluded)`,
    ...latencyTable(model),
    `  generator lag p95 ${fmtMs(metricValue(model, "generator_lag", "p(95)"))}, max ${fmtMs(metricValue(model, "generator_lag", "max"))} (k6's own delay waking a VU; every latency above includes it)`,
    "",
    "RESERVATIONS",
    `  attempts ${fmtCount(metricValue(model, "reserve_latency", "count"))}   failures ${fmtPct(metricValue(model, "reserve_failures", "rate"))}   sold out ${fmtPct(soldOutRate(model))}   payments failed ${fmtPct(metricValue(model, "payment_failures", "rate"))}   retries ${fmtCount(metricValue(model, "retries", "count") ?? 0)}   idempotent replays ${fmtCount(metricValue(model, "idempotent_replays", "count") ?? 0)}   oversell ${fmtCount(metricValue(model, "oversell_detected", "count") ?? 0)}`,
    "",
    "ERROR TAXONOMY (reserve attempts)",
    `  ${pad("code", 24)}${pad("meaning", 30)}${padLeft("count", 8)}${padLeft("rate", 10)}`,
    ...taxonomyRows(model).map(
      (r) => `  ${pad(r.code, 24)}${pad(r.label, 30)}${padLeft(String(r.count), 8)}${padLeft(fmtPct(r.rate), 10)}`,
    ),
    ...conflictNote(model).map((line) => `  ${line}`),
    "",
    ...renderCapacitySection(capacityFromModel(model)),
    "",
    ...renderInvariantSection(invariantOutcomes(model, ctx.checks)),
    "",
    "THRESHOLDS",
    ...model.thresholds.filter((t) => !t.tracking).map((t) => `  ${icon(t.ok)} ${t.metric} ${t.expression}`),
    "",
    `RESULT: ${runVerdict(model, ctx).text}`,
    ...(failed.some((t) => t.metric === "generator_lag")
      ? [
          "  The load generator was short of CPU (generator_lag): k6, or the machine it shares with the target, delayed",
          "  its own VUs, so the latencies above include that delay. Lower LOAD_SCALE, or run k6 on another machine.",
        ]
      : []),
    RULE,
  ];
  return `${lines.join("\n")}\n`;
}
