// Runs the real dist bundles through the k6 runner against the embedded target: lifecycle, custom
// metrics, checks, summary files and exit codes; then plants the faults from faults/catalog.ts and
// proves the k6 teardown names them (exit 99, oversell_detected, invariant_violations{check:…}).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTestTarget, type LoadTestEvent, type TestTarget } from "./support/target.ts";
import { runK6, count, type K6RunResult } from "./support/k6-runner.ts";
import { applyFault, FAULTS } from "../faults/catalog.ts";

let target: TestTarget;
let results = "";

before(async () => {
  target = await startTestTarget();
  results = await mkdtemp(path.join(tmpdir(), "k6e2e-"));
});

after(async () => {
  await target.stop();
  await rm(results, { recursive: true, force: true });
});

function run(bundle: string, t: TestTarget = target, iterations = 12, extraEnv: Record<string, string> = {}): Promise<K6RunResult> {
  const sql = bundle.startsWith("sql/");
  return runK6(`dist/${bundle}.js`, {
    vus: 3,
    iterations,
    xk6Sql: sql,
    timeoutMs: 90_000,
    env: {
      SUPABASE_URL: t.url, SUPABASE_ANON_KEY: t.anonKey, SUPABASE_SERVICE_ROLE_KEY: t.serviceRoleKey,
      WEBHOOK_SECRET: t.webhookSecret, RESULTS_DIR: results,
      // lib/pq defaults to sslmode=require; the embedded server speaks no TLS.
      ...(sql ? { DATABASE_URL: `${t.databaseUrl}?sslmode=disable` } : {}),
      ...extraEnv,
    },
  });
}

async function assertHealthy(r: K6RunResult): Promise<void> {
  assert.equal(r.exitCode, 0, r.stderr.slice(0, 2000));
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

for (const bundle of ["race", "sql/race", "idempotency"]) {
  test(`${bundle}: setup → iterations → teardown → handleSummary, clean`, async () => {
    await rm(path.join(results, "summary.json"), { force: true });
    const r = await run(bundle);
    await assertHealthy(r);
    if (bundle.endsWith("race")) assert.ok(count(r, "reserve_errors{code:INSUFFICIENT_INVENTORY}") > 0, "the race sells out");
    if (bundle === "idempotency") assert.ok(count(r, "idempotent_replays") > 0);
  });
}

// The runner interleaves one process's VUs sequentially, so a race needs several runs at once on
// one shared event (EVENT_ID/TIER_ID): four processes hit the same few seats concurrently.
async function concurrentRace(t: TestTarget): Promise<K6RunResult[]> {
  const event = await t.rpc<LoadTestEvent>("load_test_setup", { p_tier_count: 1, p_tickets_per_tier: 5 });
  const env = { EVENT_ID: event.event_id, TIER_ID: event.tier_ids.join(",") };
  return Promise.all([0, 1, 2, 3].map(() => run("race", t, 12, env)));
}

const reachable = FAULTS.filter((f) => f.httpReachable);
for (const fault of reachable) {
  test(`fault ${fault.name} is caught by the k6 teardown`, async () => {
    const t = await startTestTarget();
    try {
      await applyFault(t.databaseUrl, fault.name);
      const runs = await concurrentRace(t);
      const r = runs.find((x) => x.exitCode !== 0);
      assert.ok(r, `no run failed: exits ${runs.map((x) => x.exitCode).join(",")}`);
      const named = Object.keys(r.metrics).filter((k) => k.startsWith("invariant_violations{check:") && (r.metrics[k]?.values.count ?? 0) > 0);
      assert.ok(named.length > 0, `no invariant named: ${r.stderr.slice(0, 1500)}`);
      if (fault.name === "constraints_dropped") {
        assert.equal(r.exitCode, 99);
        assert.ok(count(r, "oversell_detected") > 0);
      }
    } finally {
      await t.stop();
    }
  });
}
