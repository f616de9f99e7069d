// The end-of-run outputs: the text summary, summary.json, junit.xml and the self-contained HTML report,
// from both summary shapes k6 may hand over, with no secret anywhere.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { teardownChecks } from "../lib/bundles.ts";
import { parseConfig } from "../lib/config.ts";
import { latencyChartSvg } from "../lib/html-report.ts";
import { summaryOutputs } from "../lib/k6/summary.ts";
import { passwordOf, redactText, redactValue } from "../lib/redact.ts";
import { invariantOutcomes, normalizeSummary } from "../lib/summary-model.ts";
import { buildThresholds, type ThresholdsFile } from "../lib/thresholds.ts";

const file = JSON.parse(readFileSync(new URL("../thresholds.json", import.meta.url), "utf8")) as ThresholdsFile;
const thresholds = buildThresholds(file, "race");
const SERVICE = "service-role-secret-value-123";
const ANON = "anon-secret-value-456";
const DB_PASSWORD = "db-pass-789xyz";

function cfg(resultsDir: string | null) {
  const r = parseConfig({
    SUPABASE_URL: "https://abcd.supabase.co",
    SUPABASE_ANON_KEY: ANON,
    SUPABASE_SERVICE_ROLE_KEY: SERVICE,
    DATABASE_URL: `postgresql://postgres:${DB_PASSWORD}@db.abcd.example.com:5432/postgres`,
    ...(resultsDir ? { RESULTS_DIR: resultsDir } : {}),
  });
  assert.ok(r.ok);
  return r.config;
}

const trend = (p50: number) => ({
  avg: p50,
  min: 1,
  med: p50,
  max: p50 * 9,
  "p(50)": p50,
  "p(90)": p50 * 2,
  "p(95)": p50 * 3,
  "p(99)": p50 * 4,
  "p(99.9)": p50 * 5,
  count: 100,
});

/** A classic handleSummary `data` as k6 v0.49 to v2 passes it by default. */
function classicData() {
  const metrics: Record<string, unknown> = {
    http_reqs: { type: "counter", contains: "default", values: { count: 300, rate: 30 } },
    http_req_failed: { type: "rate", contains: "default", values: { rate: 0.01, passes: 3, fails: 297 } },
    http_req_duration: { type: "trend", contains: "time", values: trend(10) },
    reserve_latency: {
      type: "trend",
      contains: "time",
      values: trend(20),
      thresholds: { "p(50)<300": { ok: true }, "p(99)<1200": { ok: true } },
    },
    checkout_latency: { type: "trend", contains: "time", values: trend(5) },
    reserve_failures: { type: "rate", contains: "default", values: { rate: 0.02, passes: 2, fails: 98 } },
    "reserve_errors{code:INSUFFICIENT_INVENTORY}": {
      type: "counter",
      contains: "default",
      values: { count: 90, rate: 9 },
      thresholds: { "count>=0": { ok: true } },
    },
    "reserve_errors{code:40001}": {
      type: "counter",
      contains: "default",
      values: { count: 4, rate: 0.4 },
      thresholds: { "count>=0": { ok: true } },
    },
    oversell_detected: { type: "counter", contains: "default", values: { count: 1, rate: 0.1 }, thresholds: { "count==0": { ok: false } } },
    invariant_violations: {
      type: "counter",
      contains: "default",
      values: { count: 1, rate: 0.1 },
      thresholds: { "count==0": { ok: false } },
    },
    "invariant_violations{check:sold_lte_total}": {
      type: "counter",
      contains: "default",
      values: { count: 1, rate: 0.1 },
      thresholds: { "count==0": { ok: false } },
    },
    "invariant_violations{check:no_duplicate_tickets}": {
      type: "counter",
      contains: "default",
      values: { count: 0, rate: 0 },
      thresholds: { "count==0": { ok: true } },
    },
    invariants_checked: { type: "gauge", contains: "default", values: { value: 12, min: 12, max: 12 } },
    capacity_total_tickets: { type: "gauge", contains: "default", values: { value: 10, min: 10, max: 10 } },
    capacity_sold: { type: "gauge", contains: "default", values: { value: 11, min: 11, max: 11 } },
    capacity_inventory_utilisation: { type: "gauge", contains: "default", values: { value: 1.1, min: 1.1, max: 1.1 } },
  };
  return {
    metrics,
    root_group: { name: "", path: "", checks: [{ name: "reserve: status 200 or 409", passes: 99, fails: 1 }], groups: [] },
    state: { testRunDurationMs: 10_000 },
    setup_data: { eventId: "0b6c4f7e-1d2a-4c3b-8e9f-0a1b2c3d4e5f", tierIds: [] },
    options: { summaryTrendStats: ["p(99.9)"] },
  };
}

/** The opt-in machine-readable shape of k6 >= 1.5: metrics as an array, no threshold outcomes. */
function machineReadableData() {
  return {
    version: "1.0.0",
    config: { duration: 10, execution: "local", script: "race.js" },
    metadata: { k6Version: "1.5.0", generatedAt: "2026-01-01T00:00:00Z" },
    results: {
      metrics: [
        { name: "http_reqs", type: "counter", contains: "default", values: { count: 300 } },
        {
          name: "reserve_latency",
          type: "trend",
          contains: "time",
          values: { avg: 20, min: 1, med: 20, max: 90, "p(90)": 40, "p(95)": 60 },
        },
        { name: "reserve_failures", type: "rate", contains: "default", values: { matches: 2, total: 100, rate: 0.02 } },
        { name: "checks", type: "rate", contains: "default", values: { matches: 99, total: 100, rate: 0.99 } },
        { name: "oversell_detected", type: "counter", contains: "default", values: { count: 0 } },
      ],
      checks: { metrics: [], results: [{ name: "reserve: status 200 or 409", passes: 99, fails: 1 }] },
    },
  };
}

test("classic shape: metrics, k6's threshold outcomes, checks and invariants", () => {
  const model = normalizeSummary(classicData(), thresholds);
  assert.equal(model.shape, "classic");
  assert.equal(model.durationMs, 10_000);
  assert.equal(model.checks[0]!.fails, 1);
  const oversell = model.thresholds.find((t) => t.metric === "oversell_detected")!;
  assert.equal(oversell.ok, false);
  const p999 = model.thresholds.find((t) => t.metric === "reserve_latency" && t.expression === "p(99.9)<2000")!;
  assert.equal(p999.ok, true, "evaluated from values when k6 gave no outcome");
  const outcomes = invariantOutcomes(model, teardownChecks("race"));
  assert.equal(outcomes.find((o) => o.name === "sold_lte_total")!.passed, false);
  assert.equal(outcomes.find((o) => o.name === "no_duplicate_tickets")!.passed, true);
});

test("machine-readable shape: no crash, thresholds evaluated, rates mapped", () => {
  const model = normalizeSummary(machineReadableData(), thresholds);
  assert.equal(model.shape, "machine-readable");
  assert.equal(model.durationMs, 10_000);
  assert.equal(model.metrics.reserve_failures!.values.fails, 98);
  assert.equal(model.thresholds.find((t) => t.metric === "reserve_failures")!.ok, true);
  assert.equal(model.thresholds.find((t) => t.metric === "oversell_detected")!.ok, true);
  assert.equal(model.thresholds.find((t) => t.expression === "p(99)<1200")!.ok, null, "p(99) absent: unknown, not a pass");
  assert.deepEqual(model.checks, [{ name: "reserve: status 200 or 409", passes: 99, fails: 1 }]);
  const out = summaryOutputs(machineReadableData(), cfg(null), "race", thresholds);
  assert.match(out.stdout!, /K6 LOAD TEST SUMMARY/);
  assert.match(out.stdout!, /summary shape machine-readable/);
});

test("garbage in: an empty model, still rendered", () => {
  for (const data of [null, 42, "x", {}, { results: {} }, { metrics: { x: 5 } }]) {
    const out = summaryOutputs(data, cfg("/tmp/r"), "race", thresholds);
    assert.match(out.stdout!, /K6 LOAD TEST SUMMARY/);
    assert.match(out.stdout!, /not checked/);
  }
});

test("text summary: HTTP, reservations, taxonomy, capacity, invariants, thresholds", () => {
  const { stdout } = summaryOutputs(classicData(), cfg(null), "race", thresholds);
  const text = stdout!;
  for (const section of ["HTTP", "RESERVATIONS", "ERROR TAXONOMY", "CAPACITY", "INVARIANTS", "THRESHOLDS"])
    assert.match(text, new RegExp(`^${section}`, "m"));
  assert.match(text, /reserve_latency\s+20\.0 ms\s+40\.0 ms\s+80\.0 ms\s+100 ms\s+100/);
  assert.match(text, /40001\s+serialization failure\s+4\s+4\.00 %/);
  assert.match(text, /INSUFFICIENT_INVENTORY\s+sold out \(expected\)\s+90\s+90\.00 %/);
  assert.match(text, /tickets 10\s+sold 11/);
  assert.match(text, /❌ sold_lte_total/);
  assert.match(text, /✅ no_duplicate_tickets/);
  assert.match(text, /❌ oversell_detected count==0/);
  assert.match(text, /✅ reserve_latency p\(50\)<300/);
  assert.doesNotMatch(text, /count>=0/, "tracking entries are not shown as goals");
  assert.match(text, /RESULT: FAILED \(3 thresholds crossed\)/);
  assert.match(text, /event 0b6c4f7e-1d2a-4c3b-8e9f-0a1b2c3d4e5f/);
});

test("the 40001 line is the rate before retries: the server's retries (X-Serialization-Retries) count as transactions that met one", () => {
  const data = classicData();
  // 100 answers (reserve_latency count), 4 of them 40001; the server retried 20 more transactions, each after a 40001.
  data.metrics.reserve_conflicts = {
    type: "rate",
    contains: "default",
    values: { rate: 24 / 120, passes: 24, fails: 96 },
    thresholds: { "rate<0.05": { ok: false } },
  };
  data.metrics.reserve_serialization_retries = { type: "counter", contains: "default", values: { count: 20, rate: 2 } };
  const { stdout } = summaryOutputs(data, cfg("/tmp/r"), "race", thresholds);
  assert.match(stdout!, /40001\s+serialization before retries\s+24\s+20\.00 %/);
  assert.match(
    stdout!,
    /40001: 24 of 120 reserve transactions met a serialization failure or deadlock,\s+20 of them retried by the server/,
  );
  assert.match(stdout!, /❌ reserve_conflicts rate<0.05/);
  const html = summaryOutputs(data, cfg("/tmp/r"), "race", thresholds)["/tmp/r/report.html"]!;
  assert.match(html, /serialization before retries/);
  assert.match(html, /24 of 120 reserve transactions/);
  assert.deepEqual(thresholds.reserve_conflicts, ["rate<0.05"], "the guide's 40001 < 5 % judges every bundle");
});

test("the event's inventory design is in the summary: buckets, the single row, or the user's own event", () => {
  const line = (setup: Record<string, unknown>) => {
    const data = { ...classicData(), setup_data: { eventId: "0b6c4f7e-1d2a-4c3b-8e9f-0a1b2c3d4e5f", ...setup } };
    return /^event .*$/m.exec(summaryOutputs(data, cfg(null), "race", thresholds).stdout!)![0];
  };
  assert.match(line({ bucketsPerTier: 1024 }), /\(1024 inventory buckets per tier\)/);
  assert.match(line({ bucketsPerTier: 1 }), /\(one inventory row per tier\)/);
  assert.doesNotMatch(line({ bucketsPerTier: null }), /inventory/);
  const html = summaryOutputs({ ...classicData(), setup_data: { eventId: "e", bucketsPerTier: 1024 } }, cfg("/tmp/r"), "race", thresholds)[
    "/tmp/r/report.html"
  ]!;
  assert.match(html, /event e \(1024 inventory buckets per tier\)<\/p>/);
});

test("a run whose setup() never finished is ABORTED, not PASSED, in the text and the HTML report", () => {
  const { setup_data: _, ...aborted } = classicData();
  const out = summaryOutputs(aborted, cfg("/tmp/r"), "smoke", thresholds);
  assert.match(out.stdout!, /RESULT: ABORTED: setup\(\) did not finish/);
  assert.doesNotMatch(out.stdout!, /RESULT: (PASSED|FAILED)/);
  assert.match(out["/tmp/r/report.html"]!, /class="result failed">ABORTED/);
  assert.match(summaryOutputs(classicData(), cfg("/tmp/r"), "smoke", thresholds).stdout!, /RESULT: FAILED/);
});

test("results folder: summary.json, junit.xml and report.html, only when RESULTS_DIR is set", () => {
  assert.deepEqual(Object.keys(summaryOutputs(classicData(), cfg(null), "race", thresholds)), ["stdout"]);
  const out = summaryOutputs(classicData(), cfg("results/run-1/"), "race", thresholds);
  assert.deepEqual(Object.keys(out).sort(), [
    "results/run-1/junit.xml",
    "results/run-1/report.html",
    "results/run-1/summary.json",
    "stdout",
  ]);

  const json = JSON.parse(out["results/run-1/summary.json"]!);
  assert.equal(json.context.bundle, "race");
  assert.equal(json.shape, "classic");

  const junit = out["results/run-1/junit.xml"]!;
  assert.match(junit, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
  const thresholdCases =
    thresholds &&
    Object.values(thresholds)
      .flat()
      .filter((e) => e !== "count>=0").length;
  assert.match(junit, new RegExp(`<testsuite name="race.thresholds" tests="${thresholdCases}" failures="3"`));
  assert.match(junit, new RegExp(`<testsuite name="race.invariants" tests="${teardownChecks("race").length}" failures="1"`));
  assert.match(junit, /<testcase classname="race.invariants" name="sold_lte_total"><failure message="violated \(1\)"\/><\/testcase>/);
  assert.match(junit, /name="reserve_latency p\(50\)&lt;300"\/>/, "expressions are XML-escaped");

  const html = out["results/run-1/report.html"]!;
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<style>/);
  assert.match(html, /<svg [^>]*role="img"/);
  assert.doesNotMatch(html, /<script|<link|src=|@import|url\(/i, "self-contained: nothing external");
  assert.match(html, /FAILED \(3 thresholds crossed\)/);
});

test("a starved load generator is named as such, not blamed on the backend", () => {
  const data = classicData();
  data.metrics.generator_lag = { type: "trend", contains: "time", values: trend(150), thresholds: { "p(95)<100": { ok: false } } };
  const text = summaryOutputs(data, cfg(null), "race", thresholds).stdout!;
  assert.match(text, /generator lag p95 450 ms/);
  assert.match(text, /❌ generator_lag p\(95\)<100/);
  assert.match(text, /The load generator was short of CPU \(generator_lag\)/);
  assert.doesNotMatch(summaryOutputs(classicData(), cfg(null), "race", thresholds).stdout!, /short of CPU/);
});

test("report.html links k6's web dashboard of the run when k6 writes one beside it", () => {
  const r = parseConfig({ RESULTS_DIR: "results/run-1/", K6_WEB_DASHBOARD_EXPORT: "results/run-1/dashboard.html" });
  assert.ok(r.ok);
  const out = summaryOutputs(classicData(), r.config, "race", thresholds);
  assert.match(out["results/run-1/report.html"]!, /<a href="dashboard.html">k6 web dashboard<\/a>/);
  assert.match(out.stdout!, /web dashboard \(over time\) dashboard.html/);
  const elsewhere = parseConfig({ RESULTS_DIR: "r", K6_WEB_DASHBOARD_EXPORT: "/tmp/d.html" });
  assert.ok(elsewhere.ok);
  assert.match(summaryOutputs(classicData(), elsewhere.config, "race", thresholds)["r/report.html"]!, /href="\/tmp\/d.html"/);
  assert.doesNotMatch(summaryOutputs(classicData(), cfg("r"), "race", thresholds)["r/report.html"]!, /web dashboard/);
});

test("no secret in any output", () => {
  const out = summaryOutputs(classicData(), cfg("r"), "race", thresholds);
  for (const [name, text] of Object.entries(out)) {
    for (const secret of [SERVICE, ANON, DB_PASSWORD]) assert.ok(!text.includes(secret), `${secret} leaked into ${name}`);
  }
});

test("redaction: configured values, JWTs, URL passwords, provider keys", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.abcdefghijk";
  const text = `key=${jwt} url=postgresql://postgres:hunter2@db:5432/x secret=my-long-secret sk_live_abcdefghijkl whsec_abcdefghijkl`;
  const red = redactText(text, ["my-long-secret", null, "ab"]);
  assert.equal(red, "key=*** url=postgresql://postgres:***@db:5432/x secret=*** *** ***");
  assert.equal(passwordOf("postgresql://u:p%40ss@h/db"), "p@ss");
  assert.equal(passwordOf("postgresql://h/db"), null);
  assert.deepEqual(redactValue({ a: [`x ${jwt}`] }), { a: ["x ***"] });
});

test("the latency chart is inline SVG with one bar per metric and percentile", () => {
  const svg = latencyChartSvg(normalizeSummary(classicData(), thresholds));
  assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 3 * 4, "http_req_duration, reserve, checkout × 4 percentiles");
});
