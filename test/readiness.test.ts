// The readiness audit: all ✅ on a freshly migrated database, ❌ with the fixing SQL and exit 1 when an
// index is dropped, holds are stuck past expiry, the cleanup repaired a tier or predates the hold-expiry
// fix, or a bucketed tier stays unsettled; and the printed fix really fixes it. (The pg_cron job's runs: test/hold-expiry-cron.test.ts.)
import assert from "node:assert/strict";
import { readFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import type { ReadinessItem } from "../race-lab/readiness.ts";
import { cleanupBeforeFix, holdExpiryMigrationSql, plantDriftedEvent } from "./support/hold-expiry.ts";
import { runCli, startLabServer, type LabServer } from "./support/race-lab.ts";
import { withPg } from "./support/target.ts";

let server: LabServer;
before(async () => {
  server = await startLabServer();
});
after(async () => {
  await server?.db.stop();
});

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

test("a fresh migrated database is ready (cleanup by the app), every item ✅", async () => {
  const url = await server.scratch("ready_ok");
  const json = path.join(await mkdtemp(path.join(tmpdir(), "readiness-")), "r.json");
  const r = await runCli("readiness", ["--cleanup-by-app", "--json", json], { DATABASE_URL: url });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(await readFile(json, "utf8")) as { ready: boolean; items: ReadinessItem[] };
  assert.equal(report.ready, true);
  const notPassing = report.items.filter((i) => i.status !== "pass" && i.name !== "cleanup job scheduled (pg_cron)");
  assert.deepEqual(notPassing, []);
  for (const name of [
    "unique active hold per session and tier",
    "hold tier index",
    "hold expiry index",
    "CHECK check_sold_lte_total",
    "pg_stat_statements",
  ]) {
    assert.match(r.stdout, new RegExp(`✅\\s+${name.replace(/[()]/g, "\\$&")}`));
  }
});

test("without pg_cron on DATABASE_URL the cleanup job is a required ❌ unless --cleanup-by-app", async () => {
  const url = await server.scratch("ready_cron");
  const r = await runCli("readiness", [], { DATABASE_URL: url });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /❌\s+cleanup job scheduled \(pg_cron\).*cron\.schedule\('liventix-cleanup-expired-holds'/);
});

test("a dropped index is ❌ with the SQL that fixes it, exit 1; applying that SQL makes it ready again", async () => {
  const url = await server.scratch("ready_broken");
  await sql(url, "DROP INDEX public.idx_ticket_holds_expiry; ALTER TABLE public.ticket_tiers DROP CONSTRAINT check_sold_lte_total");
  const json = path.join(await mkdtemp(path.join(tmpdir(), "readiness-")), "r.json");
  const r = await runCli("readiness", ["--cleanup-by-app", "--json", json], { DATABASE_URL: url });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /❌\s+hold expiry index\s+no such index on ticket_holds\s+CREATE INDEX idx_ticket_holds_expiry/);
  assert.match(r.stdout, /❌ NOT READY: hold expiry index, CHECK check_sold_lte_total/);
  const report = JSON.parse(await readFile(json, "utf8")) as { items: ReadinessItem[] };
  for (const item of report.items.filter((i) => i.status === "fail")) await sql(url, item.fix);
  const again = await runCli("readiness", ["--cleanup-by-app"], { DATABASE_URL: url });
  assert.equal(again.code, 0, again.stdout);
});

async function audit(url: string): Promise<{ code: number; failing: ReadinessItem[] }> {
  const json = path.join(await mkdtemp(path.join(tmpdir(), "readiness-")), "r.json");
  const r = await runCli("readiness", ["--cleanup-by-app", "--json", json], { DATABASE_URL: url });
  const report = JSON.parse(await readFile(json, "utf8")) as { items: ReadinessItem[] };
  return { code: r.code, failing: report.items.filter((i) => i.status === "fail") };
}

test("holds stuck past expiry, then the repair the cleanup made: each ❌ with its fix, and the fixes make it ready", async () => {
  const url = await server.scratch("ready_expiry");
  const planted = await withPg(url, (c) => plantDriftedEvent(c, 600));
  const stuck = await audit(url);
  assert.equal(stuck.code, 1);
  assert.deepEqual(
    stuck.failing.map((i) => i.name),
    ["no overdue holds (> 3 min past expiry)"],
  );
  assert.match(stuck.failing[0]!.observed, /^6 active holds \(8 seats\) more than 3 min past expiry, oldest 1[01] min past; tier /);
  await sql(url, stuck.failing[0]!.fix);

  const repaired = await audit(url);
  assert.deepEqual(
    repaired.failing.map((i) => i.name),
    ["no hold counter repairs (public.hold_cleanup_repairs)"],
  );
  assert.match(
    repaired.failing[0]!.observed,
    new RegExp(
      `^1 repairs, latest .*: tier ${planted.drifted} .*reserved 1 but 2 seats expiring, 1 seats still held -> reserved 1 \\(by a session without application_name\\)$`,
    ),
  );
  await sql(url, repaired.failing[0]!.fix);
  assert.equal((await audit(url)).code, 0);
});

test("a database still on the cleanup from before the fix: the hold-expiry migration is ❌ until it is applied", async () => {
  const url = await server.scratch("ready_old_cleanup");
  await sql(url, await cleanupBeforeFix());
  const old = await audit(url);
  assert.deepEqual(
    old.failing.map((i) => [i.name, i.fix]),
    [
      [
        "hold expiry migration (a drifted tier cannot stop cleanup)",
        "apply supabase/migrations/20261201000100_hold_expiry.sql: `supabase db push`, or run the file in the SQL editor (it is idempotent)",
      ],
    ],
  );
  await sql(url, await holdExpiryMigrationSql());
  assert.equal((await audit(url)).code, 0);
});

test("a bucketed tier nobody settles is ❌ once it trails its buckets for three intervals; the printed fix settles it", async () => {
  const url = await server.scratch("ready_settle");
  await withPg(url, async (c) => {
    const ev = (await c.query<{ s: { tier_ids: string[] } }>("SELECT load_test_setup(1, 100, 600, 5000, NULL, 'settle', 4) AS s")).rows[0]!
      .s;
    assert.equal(
      (await c.query<{ r: { ok: boolean } }>("SELECT try_reserve($1, 2, 'unsettled') AS r", [ev.tier_ids[0]])).rows[0]!.r.ok,
      true,
    );
    assert.equal((await audit(url)).code, 0, "unsettled for a moment: the next tick settles it");
    await c.query("UPDATE ticket_tiers SET updated_at = now() - interval '4 minutes' WHERE id = $1", [ev.tier_ids[0]]);
  });
  const stale = await audit(url);
  assert.deepEqual(
    stale.failing.map((i) => i.name),
    ["bucketed tiers' counters settled (settle_tier_counters)"],
  );
  assert.match(stale.failing[0]!.observed, /^1 of 1 bucketed tiers unsettled for more than 3 min \(the oldest (4 min|24\d s)\)/);
  await sql(url, stale.failing[0]!.fix.replace(/SELECT cron\.schedule.*$/, ""));
  assert.equal((await audit(url)).code, 0);
});

test("the embedded target (no DATABASE_URL) is ready, the cleanup job only a warning", async () => {
  const r = await runCli("readiness", []);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /⚠️\s+cleanup job scheduled \(pg_cron\)/);
  assert.doesNotMatch(r.stdout, /❌/);
});

test("bad flags exit 2 and name the flag", async () => {
  const r = await runCli("readiness", ["--frobnicate"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--frobnicate/);
});
