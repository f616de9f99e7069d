// Runs the real dist bundles through the k6 test doubles, in real time, against the embedded target:
// every bundle end to end with its own executor, shortened with LOAD_SCALE as under k6 (lifecycle,
// custom metrics, checks, summary files, the Liventix Advanced Load Testing Guide's latency and rate thresholds met, exit code 0, no
// false alarm even with every buyer feature on); then each fault of race-lab/faults/catalog.ts that HTTP can
// reach, planted in a fresh target, under the workload its catalog entry names, driven again until a
// run decides (caught it, or reached it): that run must exit 99 and name the fault's check or metric.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { clientEnv } from "../backend/index.ts";
import { startTestTarget, type TestTarget } from "./support/target.ts";
import { runK6, count, failedThresholds, type K6RunOptions, type K6RunResult } from "./support/k6-runner.ts";
import { applyFault, FAULTS, reachedValue, type K6Exposure } from "../race-lab/faults/catalog.ts";

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

function run(bundle: string, t: TestTarget, env: Record<string, string> = {}, flags?: K6RunOptions["flags"]): Promise<K6RunResult> {
  const sql = bundle.startsWith("sql/");
  return runK6(`dist/${bundle}.js`, {
    xk6Sql: sql,
    flags,
    timeoutMs: 90_000,
    env: {
      ...clientEnv(t),
      RESULTS_DIR: results,
      THINK_TIME: "0",
      // lib/pq defaults to sslmode=require; the embedded server speaks no TLS.
      ...(sql ? { DATABASE_URL: `${t.databaseUrl}?sslmode=disable` } : {}),
      ...env,
    },
  });
}

/**
 * A clean run: exit 0 with every threshold met, no failed check, no violation, summary files without
 * secrets. `latencyMayMiss`: the feature-heavy runs, which fire bursts of concurrent reserves on a few
 * seats from worker-thread VUs of a busy 2-core box, prove correctness and may miss a latency goal
 * (or the generator guard) there, and nothing else; the plain runs above judge latency.
 */
async function assertHealthy(r: K6RunResult, latencyMayMiss = false): Promise<void> {
  const failed = failedThresholds(r);
  const judged = latencyMayMiss ? failed.filter((f) => !/^([a-z]+_latency|generator_lag) /.test(f)) : failed;
  assert.deepEqual(judged, [], r.stderr.slice(0, 2000));
  assert.equal(r.exitCode, failed.length > 0 ? 99 : 0, r.stderr.slice(0, 2000));
  assert.deepEqual(r.iterationErrors, []);
  assert.deepEqual(
    r.checks.filter((c) => c.fails > 0),
    [],
  );
  assert.ok(count(r, "reserve_latency") > 0, "reserves were made");
  assertReserveAccounting(r);
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

/**
 * Every reserve answer is sampled alike, whichever path recorded it (lib/k6/api.ts records a plain
 * sold-out answer without the general retry loop): one reserve_latency sample per answer, one
 * reserve_conflicts sample per database transaction (the server's retries, then the answer's own), one
 * reserve_failures sample per final answer (every answer the client did not retry).
 */
function assertReserveAccounting(r: K6RunResult): void {
  const answers = count(r, "reserve_latency");
  const samples = (key: string) => (r.metrics[key]?.values.passes ?? 0) + (r.metrics[key]?.values.fails ?? 0);
  assert.equal(samples("reserve_conflicts"), answers + count(r, "reserve_serialization_retries"), "reserve_conflicts samples");
  assert.equal(samples("reserve_failures"), answers - count(r, "retries"), "reserve_failures samples");
}

const rate = (r: K6RunResult, key: string) => r.metrics[key]?.values.rate ?? 0;
const checkRuns = (r: K6RunResult, prefix: string) =>
  r.checks.filter((c) => c.name.startsWith(prefix)).reduce((n, c) => n + c.passes + c.fails, 0);

// Each bundle with its own executor and default buyer features, shortened to a few seconds and a
// handful of VUs (k6 itself would run the same with the same LOAD_SCALE). The race gets 2 seats, fewer
// than its arrivals, so it must sell out; its 1 s countdown lines up the first arrivals.
const SCALED: [string, Record<string, string>][] = [
  ["sql/smoke", {}],
  ["light", { LOAD_SCALE: "0.01" }],
  ["medium", { LOAD_SCALE: "0.02" }],
  ["stress", { LOAD_SCALE: "0.02" }],
  ["spike", { LOAD_SCALE: "0.01" }],
  ["spike-arrival", { LOAD_SCALE: "0.01" }],
  ["default", { LOAD_SCALE: "0.05" }],
  ["soak", { LOAD_SCALE: "0.002" }],
  ["sql/race", { LOAD_SCALE: "0.06", TICKETS_PER_TIER: "2" }],
  ["idempotency", { LOAD_SCALE: "0.1" }],
];

for (const [bundle, env] of SCALED) {
  test(`${bundle}: setup → its executor in real time → teardown → handleSummary, every threshold met`, async () => {
    await rm(path.join(results, "summary.json"), { force: true });
    const r = await run(bundle, target, env);
    await assertHealthy(r);
    if (bundle === "sql/race") assert.ok(count(r, "reserve_errors{code:INSUFFICIENT_INVENTORY}") > 0, "the race sells out");
    if (bundle === "idempotency") assert.ok(count(r, "idempotent_replays") > 0);
  });
}

// Every buyer feature on at once, half the arrivals scalper bots: their legitimate outcomes (HOLD_EXISTS
// of a second click, a replayed duplicate webhook, sold out) must not count as failures.
const EVERY_FEATURE = {
  DOUBLE_CLICK_RATIO: "1",
  SECOND_TAB_RATIO: "1",
  WEBHOOK_REDELIVERY_RATIO: "1",
  PAY_RATIO: "1",
  BOT_RATIO: "0.5",
  SALE_OPENS_IN: "1",
};

test("smoke with every buyer feature on: countdown, bots, double-clicks, second tabs, redelivered webhooks, all clean", async () => {
  const r = await run("smoke", target, EVERY_FEATURE);
  await assertHealthy(r, true);
  assert.ok(count(r, "reserve_errors{code:HOLD_EXISTS}") > 0, "the second click answers HOLD_EXISTS");
  assert.equal(rate(r, "reserve_failures"), 0);
  assert.equal(rate(r, "payment_failures"), 0);
  assert.ok(checkRuns(r, "second tab:") > 0, "second tabs ran");
  assert.ok(checkRuns(r, "payment: a duplicate delivery charges once") > 0, "webhooks were redelivered");
});

test("race: 4 tiers under an event cap of 6, every feature on, sells out cleanly", async () => {
  // ~8 arrivals of at least one seat each against 6 seats: the cap is always hit.
  const r = await run("race", target, { ...EVERY_FEATURE, LOAD_SCALE: "0.07", TIER_COUNT: "4", EVENT_CAPACITY: "6" });
  await assertHealthy(r, true);
  assert.ok(count(r, "reserve_errors{code:INSUFFICIENT_INVENTORY}") > 0, "the race sells out");
  assert.ok((r.metrics.capacity_sold?.values.value ?? 0) + (r.metrics.capacity_reserved?.values.value ?? 0) <= 6);
});

test("abandonment: short holds expire and every seat comes back before teardown judges", async () => {
  const r = await run("abandonment", target, { LOAD_SCALE: "0.1", HOLD_SECONDS: "1", ABANDON_GRACE_SECONDS: "20" });
  await assertHealthy(r);
  assert.ok((r.metrics.capacity_holds_expired?.values.value ?? 0) > 0, "holds expired");
  assert.equal(r.metrics.capacity_reserved?.values.value, 0);
});

const caught = (r: K6RunResult, k6: K6Exposure) => r.exitCode === 99 && failedThresholds(r).some((f) => f.startsWith(`${k6.expect} `));

/**
 * Runs the exposure until a run decides (at most `attempts` runs): it caught the fault, or it reached the
 * fault and so gave it its chance. A run that did neither proves nothing and the workload goes again.
 */
async function driveUntilDecided(t: TestTarget, k6: K6Exposure, attempts = 4): Promise<{ r: K6RunResult; runs: number }> {
  let r: K6RunResult | null = null;
  for (let runs = 1; runs <= attempts; runs++) {
    r = await run(k6.bundle, t, k6.env, { vus: k6.vus, duration: k6.duration });
    if (caught(r, k6) || reachedValue(r.metrics, k6.reached.metric) >= k6.reached.atLeast) return { r, runs };
  }
  return { r: r!, runs: attempts };
}

for (const fault of FAULTS) {
  const k6 = fault.k6;
  if (!k6) continue;
  test(`fault ${fault.name} is caught by ${k6.bundle}: exit 99 naming ${k6.expect}`, async () => {
    const t = await startTestTarget({ cleanupIntervalMs: CLEANUP_MS });
    try {
      await applyFault(t.databaseUrl, fault.name);
      const { r, runs } = await driveUntilDecided(t, k6);
      const reached = reachedValue(r.metrics, k6.reached.metric);
      assert.ok(
        caught(r, k6) || reached >= k6.reached.atLeast,
        `after ${runs} runs ${k6.reached.metric} is ${reached}, short of ${k6.reached.atLeast}: the workload never reached the fault`,
      );
      const failed = failedThresholds(r);
      assert.equal(
        r.exitCode,
        99,
        `exit ${r.exitCode} (run ${runs}); thresholds crossed: ${failed.join(", ") || "none"}\n${r.stderr.slice(0, 1500)}`,
      );
      assert.ok(
        failed.some((f) => f.startsWith(`${k6.expect} `)),
        `${k6.expect} crossed no threshold; crossed: ${failed.join(", ")}`,
      );
      if (k6.expect.startsWith("invariant_violations")) assert.ok(count(r, k6.expect) > 0, `${k6.expect} is 0`);
      if (fault.name === "constraints_dropped") assert.ok(count(r, "oversell_detected") > 0);
    } finally {
      await t.stop();
    }
  });
}
