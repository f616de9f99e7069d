// Hold expiry under a real pg_cron (Debian's postgresql-15-cron, minute granularity), on two PostgreSQL 15
// servers that wait for the same minute tick: one migrated with everything (the job is scheduled once,
// expires the healthy tiers' holds within its interval and repairs the drifted tier; the embedded target
// leaves the work to it and logs the repair), one still on the cleanup from before the fix (its job fails
// every run: readiness, db-stats and the target all say so).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type pg from "pg";
import type { ReadinessItem } from "../race-lab/readiness.ts";
import { migrate, readMigrations } from "../backend/migrate.ts";
import {
  cleanupTicks,
  holdStatuses,
  migrationsBeforeFix,
  plantDriftedEvent,
  reservedOf,
  type PlantedEvent,
} from "./support/hold-expiry.ts";
import { requirePgCron, startPg15, type Pg15 } from "./support/pg15.ts";
import { runCli } from "./support/race-lab.ts";
import { startTestTarget, waitFor, withPg, type TestTarget } from "./support/target.ts";

// pg_cron connects back over TCP as the job's owner (trust on 127.0.0.1) to run each job.
const PG_CRON = { shared_preload_libraries: "pg_cron", "cron.database_name": "postgres", "cron.host": "127.0.0.1" };
/** One minute tick, plus one more should the first fall between scheduling and planting. */
const TICK_DEADLINE_MS = 135_000;
const JOB = "liventix-cleanup-expired-holds";

let current: Pg15;
let old: Pg15;
let planted: PlantedEvent;
/** The database's clock when the holds were in place. */
let plantedAt: string;
let plantedOld: PlantedEvent;
let jobsAfterTwoPushes: { jobname: string; schedule: string; command: string }[];
let target: TestTarget;
const targetLines: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function replayAll(c: pg.Client, versions?: string[]): Promise<void> {
  for (const m of await readMigrations()) if (!versions || versions.includes(m.version)) await c.query(m.sql);
}

async function setUpCurrent(): Promise<void> {
  await withPg(current.url(), async (c) => {
    await c.query("CREATE EXTENSION pg_cron");
    await migrate(current.url());
    // Pushed again, as raw SQL (the runner would skip recorded versions): still one job.
    await replayAll(c);
    jobsAfterTwoPushes = (await c.query("SELECT jobname, schedule, command FROM cron.job WHERE command ILIKE '%cleanup_expired_holds%'"))
      .rows;
    planted = await plantDriftedEvent(c, 30);
    plantedAt = (await c.query<{ t: string }>("SELECT now()::text AS t")).rows[0]!.t;
  });
  target = await startTestTarget({ databaseUrl: current.url(), cleanupIntervalMs: 100, onLog: (line) => targetLines.push(line) });
  cleanups.push(() => target.stop());
}

async function setUpOld(): Promise<void> {
  const dir = await migrationsBeforeFix();
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await migrate(old.url(), dir);
  await withPg(old.url(), async (c) => {
    // Holds an hour overdue, planted before the job exists so that its very first run meets them.
    plantedOld = await plantDriftedEvent(c, 3600);
    // pg_cron enabled after the first push, then the last migration of that time run again (docs/target.md).
    await c.query("CREATE EXTENSION pg_cron");
    await replayAll(c, [(await readMigrations()).find((m) => m.name === "load_test_functions")!.version]);
  });
}

before(async () => {
  await requirePgCron();
  [current, old] = await Promise.all([startPg15({ settings: PG_CRON }), startPg15({ settings: PG_CRON })]);
  cleanups.push(
    () => current.stop(),
    () => old.stop(),
  );
  await Promise.all([setUpCurrent(), setUpOld()]);
  await Promise.all([
    withPg(current.url(), (c) =>
      waitFor(
        "pg_cron to expire the healthy tiers' holds",
        async () => ((await reservedOf(c, planted.healthy)).every((n) => n === 0) ? true : undefined),
        TICK_DEADLINE_MS,
      ),
    ),
    withPg(old.url(), (c) =>
      waitFor(
        "a failed run of the old cleanup",
        async () => ((await c.query("SELECT 1 FROM cron.job_run_details WHERE status = 'failed'")).rowCount ? true : undefined),
        TICK_DEADLINE_MS,
      ),
    ),
  ]);
});

after(async () => {
  for (const step of cleanups.reverse()) await step().catch(() => undefined);
});

test("the migrations schedule one cleanup job every minute, also when pushed a second time", () => {
  assert.deepEqual(jobsAfterTwoPushes, [{ jobname: JOB, schedule: "* * * * *", command: "SELECT public.cleanup_expired_holds()" }]);
});

test("the pg_cron job expires the healthy tiers' holds within its interval and repairs the drifted tier in the same run", async () => {
  await withPg(current.url(), async (c) => {
    assert.deepEqual(
      await holdStatuses(c, planted.due),
      planted.due.map(() => "expired"),
    );
    assert.deepEqual(await holdStatuses(c, [planted.notDue]), ["active"], "a hold not yet due stays");
    assert.deepEqual(await reservedOf(c, [planted.drifted]), [1]);
    // One transaction expired the holds and repaired the tier (same now()), in pg_cron's session, within a
    // minute of the planting, and no successful run finished in between without doing it.
    const proof = await c.query<{ by: string; one_transaction: boolean; after: number; missed: string }>(
      `SELECT r.application_name AS by,
              (SELECT bool_and(h.updated_at = r.repaired_at) FROM ticket_holds h WHERE h.id = ANY ($1)) AS one_transaction,
              extract(epoch FROM r.repaired_at - $3::timestamptz)::float8 AS after,
              (SELECT count(*) FROM cron.job_run_details d JOIN cron.job j ON j.jobid = d.jobid
                WHERE j.jobname = $4 AND d.status = 'succeeded' AND d.start_time > $3::timestamptz AND d.end_time < r.repaired_at) AS missed
         FROM hold_cleanup_repairs r WHERE r.tier_id = $2`,
      [planted.due, planted.drifted, plantedAt, JOB],
    );
    assert.equal(proof.rowCount, 1);
    const p = proof.rows[0]!;
    assert.deepEqual([p.by, p.one_transaction, Number(p.missed)], ["pg_cron", true, 0]);
    assert.ok(p.after > 0 && p.after < 61, `expired ${p.after} s after the holds were planted`);
  });
});

test("the embedded target sees the job, runs no timer of its own (pg_cron did the expiry above), and logs the repair once", async () => {
  assert.equal(target.cleanup, "pg_cron");
  const repair = new RegExp(
    `^warning: the pg_cron job "${JOB}" repaired 1 tier\\(s\\).*tier ${planted.drifted} .*reserved 1 but 2 seats expiring`,
  );
  await waitFor("the repair warning", async () => (targetLines.some((l) => repair.test(l)) ? true : undefined));
  await cleanupTicks(current.url(), 3);
  assert.deepEqual(targetLines.filter((l) => /^warning/.test(l)).length, 1, targetLines.join("\n"));
});

async function readiness(url: string): Promise<{ code: number; stdout: string; items: Record<string, ReadinessItem> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "readiness-"));
  try {
    const r = await runCli("readiness", ["--json", path.join(dir, "r.json")], { DATABASE_URL: url });
    const items = (JSON.parse(await readFile(path.join(dir, "r.json"), "utf8")) as { items: ReadinessItem[] }).items;
    return { code: r.code, stdout: r.stdout, items: Object.fromEntries(items.map((i) => [i.name, i])) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("readiness on the migrated project: the job succeeds, nothing is overdue, the repair is the one ❌", async () => {
  const r = await readiness(current.url());
  assert.equal(r.code, 1);
  assert.deepEqual(
    Object.values(r.items)
      .filter((i) => i.status !== "pass")
      .map((i) => i.name),
    ["no hold counter repairs (public.hold_cleanup_repairs)"],
  );
  assert.match(r.items["cleanup job succeeding (cron.job_run_details)"]!.observed, /^last run succeeded \d+ (s|min) ago$/);
});

test("a project still on the old cleanup: readiness shows the failing job with its error and the fix", async () => {
  const r = await readiness(old.url());
  assert.equal(r.code, 1);
  const runs = r.items["cleanup job succeeding (cron.job_run_details)"]!;
  assert.equal(runs.status, "fail");
  assert.match(
    runs.observed,
    /^latest run \(.*\) failed: new row for relation "ticket_tiers" violates check constraint "check_no_negative_availability"; no success in the last 1 runs \(limit 3 min\)$/,
  );
  assert.match(runs.fix, /cron\.job_run_details WHERE jobid = \d+ .*20261201000100_hold_expiry\.sql/);
  assert.match(
    r.stdout,
    /❌ cleanup job succeeding \(cron\.job_run_details\): latest run .* failed: new row for relation "ticket_tiers"/,
    "the full error, not cut",
  );
  assert.equal(r.items["no overdue holds (> 3 min past expiry)"]!.status, "fail");
  assert.match(
    r.items["no overdue holds (> 3 min past expiry)"]!.observed,
    new RegExp(
      `^6 active holds \\(8 seats\\) more than 3 min past expiry, oldest \\d+ min past.*tier ${plantedOld.healthy[0]}: 2 holds \\(3 seats\\)`,
    ),
  );
  assert.equal(r.items["hold expiry migration (a drifted tier cannot stop cleanup)"]!.status, "fail");
});

test("db-stats on that project: the overdue holds and the job's failed runs", async () => {
  const r = await runCli("db-stats", ["--seconds", "0"], { DATABASE_URL: old.url() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`cleanup: pg_cron job \\d+ "${JOB}" every "\\* \\* \\* \\* \\*"`));
  assert.match(r.stdout, /overdue: 6 active holds \(8 seats\) more than 3 min past expiry/);
  assert.match(
    r.stdout,
    /last runs \(started\)\s+took\s+status\s+message\n[- ]+\n\S+\s+\d+ ms\s+failed\s+new row for relation "ticket_tiers" violates check constraint/,
  );
  assert.match(r.stdout, /repairs: no repair log: apply supabase\/migrations\/20261201000100_hold_expiry\.sql/);
});

test("the target on that project (which pushes the fix) logs the failed job once", async () => {
  const lines: string[] = [];
  const t = await startTestTarget({ databaseUrl: old.url(), cleanupIntervalMs: 100, onLog: (line) => lines.push(line) });
  try {
    assert.equal(t.cleanup, "pg_cron");
    const failed = new RegExp(
      `^warning: the pg_cron job "${JOB}" failed: new row for relation "ticket_tiers" violates check constraint "check_no_negative_availability"; Failing row contains \\(.*\\)\\. Expired holds keep their seats until it succeeds again\\. Holds past expiry: tier `,
    );
    await waitFor("the failure warning", async () => (lines.some((l) => failed.test(l)) ? true : undefined));
    await cleanupTicks(old.url(), 3);
    assert.equal(lines.filter((l) => /^warning/.test(l)).length, 1, lines.join("\n"));
  } finally {
    await t.stop();
  }
});
