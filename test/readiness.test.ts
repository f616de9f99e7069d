// The readiness audit: all ✅ on a freshly migrated database, ❌ with the fixing SQL and exit 1 when an
// index is dropped, and the printed fix really fixes it.
import assert from "node:assert/strict";
import { readFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import type { ReadinessItem } from "../lab/readiness.ts";
import { runCli, startLabServer, type LabServer } from "./support/race-lab.ts";

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
  for (const name of ["unique active hold per session and tier", "hold tier index", "hold expiry index", "CHECK check_sold_lte_total", "pg_stat_statements"]) {
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
