// Issue 10 over HTTP: the real race and spike bundles, through the k6 test doubles, against an embedded
// target running SERIALIZABLE. With inventory buckets (setup() asks for them itself when /health reports
// SERIALIZABLE) they sell without oversell and the 40001 rate before retries (reserve_conflicts: the
// server's retries from X-Serialization-Retries plus the 40001 answers, per transaction) stays under the
// 5 % of the Liventix Advanced Load Testing Guide's error taxonomy; on its single row (BUCKETS_PER_TIER=1)
// the same metric crosses it and the run exits 99.
import { test, before, after, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { clientEnv } from "../backend/index.ts";
import { startTestTarget, withPg, type TestTarget } from "./support/target.ts";
import { runK6, count, failedThresholds, type K6RunResult } from "./support/k6-runner.ts";

let target: TestTarget;
let results = "";

before(async () => {
  // The cleanup timer keeps startTestTarget's 60 s (and the settle its 60 s default), so neither runs inside
  // these few-second runs: a settle rewrites every bucket and fails the reservations in flight at that
  // instant, a handful per settle, which weighs ~0.1 % of a real k6 run's reserves but several % of the
  // ~200 these slow worker-thread VUs make.
  target = await startTestTarget({ isolation: "serializable" });
  results = await mkdtemp(path.join(tmpdir(), "k6e2e-serializable-"));
});

after(async () => {
  await target.stop();
  await rm(results, { recursive: true, force: true });
});

function run(bundle: string, env: Record<string, string>): Promise<K6RunResult> {
  return runK6(`dist/${bundle}.js`, {
    timeoutMs: 90_000,
    env: {
      ...clientEnv(target),
      RESULTS_DIR: results,
      THINK_TIME: "0",
      ...env,
    },
  });
}

/** The distinct bucket counts of the tiers of the newest event a run named `name` created. */
function bucketsOfLatest(name: string): Promise<number[]> {
  return withPg(target.databaseUrl, async (c) => {
    const { rows } = await c.query<{ bucket_count: number }>(
      `SELECT DISTINCT t.bucket_count FROM ticket_tiers t
        WHERE t.event_id = (SELECT id FROM events WHERE name = $1 ORDER BY created_at DESC LIMIT 1)`,
      [name],
    );
    return rows.map((r) => r.bucket_count);
  });
}

const conflicts = (r: K6RunResult) => r.metrics.reserve_conflicts?.values ?? {};

/**
 * Every conflicted transaction is accounted for: one per retry the server reported and one per 40001 or
 * 40P01 answer; every other answer is one clean transaction.
 */
function assertConflictsAccounted(r: K6RunResult): void {
  const answers = count(r, "reserve_latency");
  const refusedByConflict = count(r, "reserve_errors{code:40001}") + count(r, "reserve_errors{code:40P01}");
  const serverRetries = count(r, "reserve_serialization_retries");
  assert.equal(conflicts(r).passes ?? 0, serverRetries + refusedByConflict);
  assert.equal(conflicts(r).fails ?? 0, answers - refusedByConflict);
}

function reportRate(t: TestContext, r: K6RunResult): void {
  const c = conflicts(r);
  t.diagnostic(`reserve_conflicts ${((c.rate ?? 0) * 100).toFixed(2)} % (${c.passes} of ${(c.passes ?? 0) + (c.fails ?? 0)} transactions)`);
}

/**
 * No oversell, teardown's invariants all checked and passing, every threshold met but latency, and the
 * exit code that follows (0 when latency is met too). These runs judge conflicts and correctness on a
 * shared 2-core box whose other work can push a percentile over; k6e2e-bundles' plain runs judge latency.
 */
function assertClean(r: K6RunResult): void {
  const failed = failedThresholds(r);
  assert.deepEqual(
    failed.filter((f) => !/^([a-z]+_latency|generator_lag) /.test(f)),
    [],
    r.stdout.slice(-3000),
  );
  assert.equal(r.exitCode, failed.length > 0 ? 99 : 0, r.stderr.slice(0, 2000));
  assert.deepEqual(r.iterationErrors, []);
  assert.ok(count(r, "reserve_latency") > 0, "reserves were made");
  assert.equal(r.metrics.invariants_checked?.values.value !== undefined, true, "teardown checked the invariants");
  assert.equal(count(r, "invariant_violations"), 0);
  assert.equal(count(r, "oversell_detected"), 0);
  assert.ok((conflicts(r).rate ?? 1) < 0.05, `reserve_conflicts ${conflicts(r).rate}`);
  assertConflictsAccounted(r);
}

// No payments: on this fresh database their hold, order and ticket writes add a few conflicts of their
// own (measured with 1,024 buckets: 2.3–4.9 % with them, 0–3.4 % without), which neither inventory design
// decides and which would leave the verdict to chance. The spike runs 20 VUs on one tier, so that the
// single row sees every writer.
const NO_PAYMENTS = { PAY_RATIO: "0" };
const SPIKE = { ...NO_PAYMENTS, LOAD_SCALE: "0.04", TIER_COUNT: "1" };

test("race on a bucketed tier under SERIALIZABLE: no oversell, 40001 before retries under 5 %, exit 0", async (t) => {
  // The race scenario's own 10 seats stay one row (the database keeps at least 10 seats per bucket): a
  // larger tier is what gets buckets. No countdown: with it, the opening wave's conflicts (its clicks all
  // meet a freshly spread tier, whose first writers all clear the one counters_settled flag) measured
  // 1.3–5.1 % over 6 runs of these ~150 reserves, a verdict left to chance; without it, 0–1.3 % over 6.
  const r = await run("race", { ...NO_PAYMENTS, LOAD_SCALE: "0.3", TICKETS_PER_TIER: "20000", SALE_OPENS_IN: "0" });
  reportRate(t, r);
  assertClean(r);
  assert.ok((await bucketsOfLatest("k6 race"))[0]! > 1, "setup() spread the tier under SERIALIZABLE");
});

test("spike under SERIALIZABLE with the default buckets: no oversell, 40001 before retries under 5 %, exit 0", async (t) => {
  const r = await run("spike", SPIKE);
  reportRate(t, r);
  assertClean(r);
  assert.deepEqual(await bucketsOfLatest("k6 spike"), [1024], "setup() asked for 1024 buckets per tier by itself");
  assert.match(r.stdout, /40001\s+serialization before retries/);
});

test("spike on the guide's single row under SERIALIZABLE (BUCKETS_PER_TIER=1): reserve_conflicts crosses 5 %, exit 99", async (t) => {
  const r = await run("spike", { ...SPIKE, BUCKETS_PER_TIER: "1" });
  reportRate(t, r);
  assert.deepEqual(await bucketsOfLatest("k6 spike"), [1]);
  assert.ok((conflicts(r).rate ?? 0) >= 0.05, `reserve_conflicts ${conflicts(r).rate}`);
  assert.ok(count(r, "reserve_serialization_retries") > 0, "the server's retries were read from X-Serialization-Retries");
  assertConflictsAccounted(r);
  assert.ok(failedThresholds(r).includes("reserve_conflicts rate<0.05"), failedThresholds(r).join(", "));
  assert.equal(r.exitCode, 99);
  assert.equal(count(r, "oversell_detected"), 0, "conflicts cost retries, never seats");
  assert.equal(count(r, "invariant_violations"), 0);
});
