// The CLIs as users run them: the load guard refuses heavy profiles against a remote host, a missing
// k6 gives install instructions and the missing-tool exit code, and `npm run verify` reads a real event's
// invariants from a real target and fails when one is violated.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { EXIT } from "../cli/exit-codes.ts";
import { parseK6Version, XK6_BUILD_LINE } from "../cli/k6-binary.ts";
import { dashboardEnv } from "../cli/k6-dashboard.ts";
import { guardRefusal } from "../cli/k6-guard.ts";
import { startTarget, type Target } from "../backend/index.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const NO_K6_PATH = path.dirname(process.execPath);

function runCli(script: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli", script), ...args], {
      cwd: ROOT,
      env: { PATH: NO_K6_PATH, HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c));
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

test("guard: heavy bundles need LOAD_ALLOW_HOSTS for a remote host", () => {
  assert.equal(guardRefusal("race", undefined, undefined), null);
  assert.equal(guardRefusal("race", "http://127.0.0.1:54321", undefined), null);
  assert.equal(guardRefusal("light", "https://prod.example.com", undefined), null);
  assert.match(guardRefusal("stress", "https://prod.example.com", undefined)!, /LOAD_ALLOW_HOSTS=prod\.example\.com/);
  assert.equal(guardRefusal("spike", "https://Staging.example.com/", "other.com, staging.example.com"), null);
  for (const b of ["stress", "spike", "spike-arrival", "race", "soak"] as const) assert.ok(guardRefusal(b, "https://x.example.com", ""), b);
});

test("npm run load has k6 write its web dashboard into the results folder, without a server unless a port is asked for", () => {
  const env = dashboardEnv({ PATH: "/bin" }, "/r/2026-01-01-smoke");
  assert.deepEqual(
    [env.K6_WEB_DASHBOARD, env.K6_WEB_DASHBOARD_EXPORT, env.K6_WEB_DASHBOARD_PORT, env.PATH],
    ["true", "/r/2026-01-01-smoke/dashboard.html", "-1", "/bin"],
  );
  assert.equal(dashboardEnv({ K6_WEB_DASHBOARD_PORT: "5665" }, "/r").K6_WEB_DASHBOARD_PORT, "5665");
});

test("k6 version output: version, major and the xk6-sql extension", () => {
  assert.deepEqual(parseK6Version("k6 v0.49.0 (go1.21.6, linux/amd64)"), { version: "0.49.0", major: 0, sql: false });
  const xk6 = "k6 v1.8.1 (go1.24.1, linux/amd64)\nExtensions:\n  github.com/grafana/xk6-sql v1.0.6, k6/x/sql [js]";
  assert.deepEqual(parseK6Version(xk6), { version: "1.8.1", major: 1, sql: true });
});

test("npm run load refuses a heavy bundle against a remote host (exit 77)", async () => {
  const r = await runCli("load.ts", ["race"], { SUPABASE_URL: "https://prod.example.com" });
  assert.equal(r.code, EXIT.REFUSED);
  assert.match(r.stderr, /refusing to run "race" against prod\.example\.com/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace");
});

test("npm run load without k6 explains how to get it (exit 69)", async () => {
  const r = await runCli("load.ts", ["smoke"], {});
  assert.equal(r.code, EXIT.MISSING_TOOL);
  assert.match(r.stderr, /k6 is not installed/);
  assert.ok(r.stderr.includes(XK6_BUILD_LINE));
  const allowed = await runCli("load.ts", ["stress"], {
    SUPABASE_URL: "https://staging.example.com",
    LOAD_ALLOW_HOSTS: "staging.example.com",
  });
  assert.equal(allowed.code, EXIT.MISSING_TOOL, "an allowed host passes the guard and reaches the k6 lookup");
});

test("the real-k6 proofs, npm run bench:k6 and faults:k6, say so without k6 (exit 69)", async () => {
  const bench = await runCli("bench-k6.ts", [], {});
  assert.equal(bench.code, EXIT.MISSING_TOOL);
  assert.match(bench.stderr, /bench:k6 measures a real k6 and found none/);
  assert.match(bench.stderr, /k6 is not installed/);
  const faults = await runCli("k6-faults.ts", [], {});
  assert.equal(faults.code, EXIT.MISSING_TOOL);
  assert.match(faults.stderr, /k6 is not installed/);
  assert.doesNotMatch(bench.stderr + faults.stderr, /at .*\.ts:\d+/, "no stack trace");
});

test("npm run load with a bad bundle name lists the bundles (exit 2)", async () => {
  const r = await runCli("load.ts", ["huge"], {});
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown bundle "huge"/);
  assert.match(r.stderr, /spike-arrival\s+profile spike-arrival/);
});

test("npm run cloud needs a reachable SUPABASE_URL (exit 2)", async () => {
  const r = await runCli("cloud.ts", ["smoke"], {});
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot reach this machine/);
});

let target: Target;
before(async () => {
  target = await startTarget({ port: 0, fast: true });
});
after(async () => {
  await target?.stop();
});

async function newEvent(): Promise<string> {
  const res = await fetch(`${target.url}/rest/v1/rpc/load_test_setup`, {
    method: "POST",
    headers: { apikey: target.serviceRoleKey, Authorization: `Bearer ${target.serviceRoleKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ p_tier_count: 1, p_tickets_per_tier: 10 }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { event_id: string }).event_id;
}

test("npm run verify: a clean event passes, a corrupted one fails with the violated checks", async () => {
  const env = { SUPABASE_URL: target.url, SUPABASE_ANON_KEY: target.anonKey, SUPABASE_SERVICE_ROLE_KEY: target.serviceRoleKey };
  const eventId = await newEvent();
  const clean = await runCli("verify.ts", ["--event", eventId], env);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /✅ sold_lte_total/);
  assert.match(clean.stdout, /✅ holds_within_capacity/);
  assert.match(clean.stdout, /CAPACITY \(load_test_capacity\)\n {2}tickets 10/);
  assert.match(clean.stdout, /RESULT: PASSED/);
  assert.ok(!clean.stdout.includes(target.serviceRoleKey));

  // Simulate an oversell that slipped past a dropped CHECK: sold above total.
  const client = new pg.Client({ connectionString: target.databaseUrl });
  await client.connect();
  try {
    await client.query("ALTER TABLE ticket_tiers DROP CONSTRAINT IF EXISTS check_sold_lte_total");
    await client.query("ALTER TABLE ticket_tiers DROP CONSTRAINT IF EXISTS check_no_negative_availability");
    await client.query("UPDATE ticket_tiers SET sold_quantity = total_quantity + 2 WHERE event_id = $1", [eventId]);
  } finally {
    await client.end();
  }
  const broken = await runCli("verify.ts", ["--event", eventId], env);
  assert.equal(broken.code, 1);
  assert.match(broken.stdout, /❌ sold_lte_total/);
  assert.match(broken.stdout, /❌ counters_within_capacity\s+sold 12 \+ reserved 0 = 12 of 10 \(oversold by 2\)/);
  assert.match(broken.stdout, /RESULT: FAILED/);
});

test("npm run verify rejects a bad --event (exit 2) and reports an unknown one (exit 70)", async () => {
  const env = { SUPABASE_URL: target.url, SUPABASE_SERVICE_ROLE_KEY: target.serviceRoleKey };
  const bad = await runCli("verify.ts", ["--event", "nope"], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--event must be the event's uuid/);
  const unknown = await runCli("verify.ts", ["--event", "00000000-0000-4000-8000-000000000000"], env);
  assert.equal(unknown.code, EXIT.ERROR);
  assert.match(unknown.stderr, /load_test_(invariants|capacity) failed/);
});
