// Runs the real dist bundles through the k6 runner against the embedded target: every bundle once end to
// end (lifecycle, custom metrics, checks, summary files, exit code 0, no false alarm even with every
// buyer feature on), then plants each fault of faults/catalog.ts that HTTP can reach and runs the k6
// workload its catalog entry names: the run must exit 99 and name the fault's check or metric.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTestTarget, type TestTarget } from "./support/target.ts";
import { runK6, count, type K6RunResult } from "./support/k6-runner.ts";
import { applyFault, FAULTS } from "../faults/catalog.ts";

// Expired holds must come back within a run's teardown (abandonment, expiry_keeps_inventory).
const CLEANUP_MS = 250;

let target: TestTarget;
let results = "";

before(async () => {
  target = await startTestTarget({ cleanupIntervalMs: CLEANUP_MS });
  results = await mkdtemp(path.join(tmpdir(), "k6e2e-"));
});

after(async () => {
  await target.stop();
  await rm(results, { recursive: true, force: true });
});

interface RunSpec {
  vus?: number;
  iterations?: number;
  env?: Record<string, string>;
  /** Teardown polls with sleep(): a small scale keeps its waits real but short. */
  sleepScale?: number;
}

function run(bundle: string, t: TestTarget, spec: RunSpec = {}): Promise<K6RunResult> {
  const sql = bundle.startsWith("sql/");
  return runK6(`dist/${bundle}.js`, {
    vus: spec.vus ?? 3,
    iterations: spec.iterations ?? 9,
    xk6Sql: sql,
    sleepScale: spec.sleepScale ?? 0,
    timeoutMs: 90_000,
    env: {
      SUPABASE_URL: t.url, SUPABASE_ANON_KEY: t.anonKey, SUPABASE_SERVICE_ROLE_KEY: t.serviceRoleKey,
      WEBHOOK_SECRET: t.webhookSecret, RESULTS_DIR: results, THINK_TIME: "0",
      // lib/pq defaults to sslmode=require; the embedded server speaks no TLS.
      ...(sql ? { DATABASE_URL: `${t.databaseUrl}?sslmode=disable` } : {}),
      ...spec.env,
    },
  });
}

/**
 * A clean run: exit 0, no failed check, no violation. With `latencyMayMiss` the runs that put 4 worker-thread
 * VUs, bots and parallel batches on a 2-core box may miss a latency target (exit 99), and nothing else.
 */
async function assertHealthy(r: K6RunResult, latencyMayMiss = false): Promise<void> {
  const failed = failedThresholds(r);
  const judged = latencyMayMiss ? failed.filter((f) => !/^[a-z]+_latency /.test(f)) : failed;
  assert.deepEqual(judged, [], r.stderr.slice(0, 2000));
  assert.equal(r.exitCode, failed.length > 0 ? 99 : 0, r.stderr.slice(0, 2000));
  assert.deepEqual(r.iterationErrors, []);
  assert.deepEqual(r.checks.filter((c) => c.fails > 0), []);
  assert.ok(count(r, "reserve_latency") > 0 || (r.metrics.reserve_latency?.values["p(95)"] ?? -1) >= 0);
  assert.equal(count(r, "oversell_detected"), 0);
  assert.equal(count(r, "invariant_violations"), 0);
  const summary = JSON.parse(await readFile(path.join(results, "summary.json"), "utf8"));
  assert.ok(summary);
  const junit = await readFile(path.join(results, "junit.xml"), "utf8");
  assert.match(junit, /<testcase /);
  const html = await readFile(path.join(results, "report.html"), "utf8");
  assert.doesNotMatch(html, /<script src/i);
  for (const secret of [target.serviceRoleKey, target.webhookSecret, target.databaseUrl]) {
    for (const text of [html, junit, JSON.stringify(summary), r.stdout, r.stderr]) assert.ok(!text.includes(secret), "a secret leaked");
  }
}

function failedThresholds(r: K6RunResult): string[] {
  return Object.entries(r.thresholds).flatMap(([key, exprs]) => Object.entries(exprs).filter(([, ok]) => !ok).map(([e]) => `${key} ${e}`));
}

const rate = (r: K6RunResult, key: string) => r.metrics[key]?.values.rate ?? 0;
const checkRuns = (r: K6RunResult, prefix: string) => r.checks.filter((c) => c.name.startsWith(prefix)).reduce((n, c) => n + c.passes + c.fails, 0);

// First (so the target is warm before the feature-heavy runs judge latency), the bundles with their
// default ratios: the executors are replaced by the runner, so the
// profiles' durations do not matter; each bundle proves it loads, runs and judges cleanly.
for (const bundle of ["sql/smoke", "light", "medium", "stress", "spike", "spike-arrival", "default", "soak", "sql/race", "idempotency"]) {
  test(`${bundle}: setup → iterations → teardown → handleSummary, clean`, async () => {
    await rm(path.join(results, "summary.json"), { force: true });
    const r = await run(bundle, target, { iterations: bundle === "sql/race" ? 15 : 9 });
    await assertHealthy(r);
    if (bundle === "sql/race") assert.ok(count(r, "reserve_errors{code:INSUFFICIENT_INVENTORY}") > 0, "the race sells out");
    if (bundle === "idempotency") assert.ok(count(r, "idempotent_replays") > 0);
  });
}

// Every buyer feature on at once, half the arrivals scalper bots: their legitimate outcomes (HOLD_EXISTS
// of a second click, a replayed duplicate webhook, sold out) must not count as failures.
const EVERY_FEATURE = {
  DOUBLE_CLICK_RATIO: "1", SECOND_TAB_RATIO: "1", WEBHOOK_REDELIVERY_RATIO: "1", PAY_RATIO: "1", BOT_RATIO: "0.5", SALE_OPENS_IN: "1",
};

test("smoke with every buyer feature on: countdown, bots, double-clicks, second tabs, redelivered webhooks, all clean", async () => {
  const r = await run("smoke", target, { env: EVERY_FEATURE, iterations: 12, sleepScale: 1 });
  await assertHealthy(r, true);
  assert.ok(count(r, "reserve_errors{code:HOLD_EXISTS}") > 0, "the second click answers HOLD_EXISTS");
  assert.equal(rate(r, "reserve_failures"), 0);
  assert.equal(rate(r, "payment_failures"), 0);
  assert.ok(checkRuns(r, "second tab:") > 0, "second tabs ran");
  assert.ok(checkRuns(r, "payment: a duplicate delivery charges once") > 0, "webhooks were redelivered");
});

test("race: 4 tiers under an event cap of 10, every feature on, sells out cleanly", async () => {
  const r = await run("race", target, { vus: 4, iterations: 30, env: { ...EVERY_FEATURE, TIER_COUNT: "4", EVENT_CAPACITY: "10" }, sleepScale: 1 });
  await assertHealthy(r, true);
  assert.ok(count(r, "reserve_errors{code:INSUFFICIENT_INVENTORY}") > 0, "the race sells out");
  assert.ok((r.metrics.capacity_sold?.values.value ?? 0) + (r.metrics.capacity_reserved?.values.value ?? 0) <= 10);
});

test("abandonment: short holds expire and every seat comes back before teardown judges", async () => {
  const r = await run("abandonment", target, { env: { HOLD_SECONDS: "1", ABANDON_GRACE_SECONDS: "20" }, sleepScale: 0.1 });
  await assertHealthy(r);
  assert.ok((r.metrics.capacity_holds_expired?.values.value ?? 0) > 0, "holds expired");
  assert.equal(r.metrics.capacity_reserved?.values.value, 0);
});

for (const fault of FAULTS) {
  const k6 = fault.k6;
  if (!k6) continue;
  test(`fault ${fault.name} is caught by ${k6.bundle}: exit 99 naming ${k6.expect}`, async () => {
    const t = await startTestTarget({ cleanupIntervalMs: CLEANUP_MS });
    try {
      await applyFault(t.databaseUrl, fault.name);
      // Real sleeps: the drop's countdown must hold every VU until the same instant.
      const r = await run(k6.bundle, t, { vus: k6.vus, iterations: k6.iterations, env: k6.env, sleepScale: 1 });
      const failed = failedThresholds(r);
      assert.equal(r.exitCode, 99, `exit ${r.exitCode}; thresholds crossed: ${failed.join(", ") || "none"}\n${r.stderr.slice(0, 1500)}`);
      assert.ok(
        failed.some((f) => f.startsWith(`${k6.expect} `)),
        `${k6.expect} crossed no threshold; crossed: ${failed.join(", ")}`,
      );
      if (k6.expect !== "payment_failures") assert.ok(count(r, k6.expect) > 0, `${k6.expect} is 0`);
      if (fault.name === "constraints_dropped") assert.ok(count(r, "oversell_detected") > 0);
    } finally {
      await t.stop();
    }
  });
}
