// Hold expiry on the embedded PostgreSQL: one tier whose counter drifted below its holds must not stop hold
// expiry for every tier: the other tiers' seats come back, the drifted tier is repaired, recorded and
// fails its event's no_counter_repairs, and the target's timer says so once per cause, never per tick.
// The repair log is closed to anon and authenticated under Supabase's roles and default privileges.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { test } from "node:test";
import type { InvariantRow } from "../lib/invariants.ts";
import { openDatabase } from "../backend/database.ts";
import { migrate, readMigrations } from "../backend/migrate.ts";
import {
  cleanupBeforeFix,
  cleanupTicks,
  HOLD_EXPIRY_VERSION,
  holdExpiryMigrationSql,
  holdStatuses,
  migrationsBeforeFix,
  moveExpiry,
  plantDriftedEvent,
  reserve,
  reservedOf,
} from "./support/hold-expiry.ts";
import { runK6 } from "./support/k6-runner.ts";
import { startTestTarget, waitFor, withPg } from "./support/target.ts";

async function invariants(c: import("pg").Client, eventId: string): Promise<Record<string, InvariantRow>> {
  const r = await c.query<InvariantRow>("SELECT * FROM public.load_test_invariants($1)", [eventId]);
  return Object.fromEntries(r.rows.map((row) => [row.check_name, row]));
}

test("before the fix one drifted tier stops all expiry; pushing the hold-expiry migration frees the rest and repairs it", async () => {
  const db = await openDatabase({ port: 0, fast: true, migrate: false });
  const oldDir = await migrationsBeforeFix();
  try {
    await migrate(db.url, oldDir);
    await withPg(db.url, async (c) => {
      const p = await plantDriftedEvent(c, 60);
      // A 2-seat tier holding 4 seats in holds (more than it has), 1 seat of them due, counter 0.
      const overfull = (
        await c.query<{ id: string }>(
          "INSERT INTO public.ticket_tiers (event_id, name, total_quantity) VALUES ($1, 'Overfull', 2) RETURNING id",
          [p.eventId],
        )
      ).rows[0]!.id;
      const overfullHolds = (
        await c.query<{ id: string }>(
          `INSERT INTO public.ticket_holds (tier_id, event_id, session_id, quantity, expires_at)
         SELECT $1, $2, 'over-' || n, 1, now() + interval '10 minutes' FROM generate_series(1, 4) n RETURNING id`,
          [overfull, p.eventId],
        )
      ).rows.map((r) => r.id);
      await moveExpiry(c, overfullHolds.slice(0, 1), 60);
      const healthyEvent = await plantHealthyEvent(c);

      await assert.rejects(c.query("SELECT public.cleanup_expired_holds()"), /check_no_negative_availability/);
      assert.deepEqual(
        await holdStatuses(c, p.due),
        p.due.map(() => "active"),
        "the old cleanup expired nothing, anywhere",
      );

      // Supabase's roles, and its default privileges that hand every new table to them.
      await c.query(`CREATE ROLE anon NOLOGIN; CREATE ROLE authenticated NOLOGIN; CREATE ROLE service_role NOLOGIN;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role`);
      assert.deepEqual(
        await migrate(db.url),
        (await readMigrations()).map((m) => m.version).filter((v) => v >= HOLD_EXPIRY_VERSION),
      );
      const access = await c.query(
        `SELECT r AS role, has_table_privilege(r, 'public.hold_cleanup_repairs', 'SELECT, INSERT, UPDATE, DELETE') AS table,
                has_sequence_privilege(r, pg_get_serial_sequence('public.hold_cleanup_repairs', 'id'), 'USAGE, SELECT, UPDATE') AS sequence
           FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) r`,
      );
      assert.deepEqual(access.rows, [
        { role: "anon", table: false, sequence: false },
        { role: "authenticated", table: false, sequence: false },
        { role: "service_role", table: true, sequence: true },
      ]);
      assert.equal(
        (await c.query("SELECT relrowsecurity FROM pg_class WHERE oid = 'public.hold_cleanup_repairs'::regclass")).rows[0].relrowsecurity,
        true,
      );
      const expired = await c.query<{ n: number }>("SELECT public.cleanup_expired_holds() AS n");
      assert.equal(expired.rows[0]!.n, p.due.length + 1 + healthyEvent.due.length);
      assert.deepEqual(await reservedOf(c, [...p.healthy, p.drifted, overfull]), [0, 0, 1, 2]);
      assert.deepEqual(await holdStatuses(c, [p.notDue]), ["active"]);

      const repairs = await c.query(
        `SELECT tier_id, event_id, total_quantity, sold_quantity, reserved_before, expired_quantity::int, active_hold_quantity::int, reserved_after
           FROM public.hold_cleanup_repairs ORDER BY total_quantity DESC`,
      );
      assert.deepEqual(repairs.rows, [
        {
          tier_id: p.drifted,
          event_id: p.eventId,
          total_quantity: 10,
          sold_quantity: 0,
          reserved_before: 1,
          expired_quantity: 2,
          active_hold_quantity: 1,
          reserved_after: 1,
        },
        // More seats held than the tier has: set sold out, never above it, so the repair itself cannot fail a CHECK.
        {
          tier_id: overfull,
          event_id: p.eventId,
          total_quantity: 2,
          sold_quantity: 0,
          reserved_before: 0,
          expired_quantity: 1,
          active_hold_quantity: 3,
          reserved_after: 2,
        },
      ]);

      const bad = await invariants(c, p.eventId);
      assert.equal(bad.no_counter_repairs!.passed, false);
      assert.match(bad.no_counter_repairs!.detail, /Tier 3 at .*: reserved 1, but 2 seats expiring; 1 seats still held -> reserved 1/);
      assert.match(bad.no_counter_repairs!.detail, /Overfull at .*: reserved 0, but 1 seats expiring; 3 seats still held -> reserved 2/);
      assert.equal(bad.active_holds_match_reserved!.observed, "1 tiers", "only the overfull tier still disagrees");
      const good = await invariants(c, healthyEvent.eventId);
      assert.deepEqual(
        Object.values(good).filter((r) => !r.passed),
        [],
        "the healthy event passes everything",
      );

      const again = await c.query<{ n: number }>("SELECT public.cleanup_expired_holds() AS n");
      assert.equal(again.rows[0]!.n, 0);
      assert.equal((await c.query("SELECT 1 FROM public.hold_cleanup_repairs")).rowCount, 2, "a repaired tier is not repaired again");
    });
  } finally {
    await db.stop();
    await rm(oldDir, { recursive: true, force: true });
  }
});

async function plantHealthyEvent(c: import("pg").Client): Promise<{ eventId: string; due: string[] }> {
  const setup = await c.query<{ s: { event_id: string; tier_ids: string[] } }>("SELECT public.load_test_setup(1, 10) AS s");
  const {
    event_id: eventId,
    tier_ids: [tier],
  } = setup.rows[0]!.s;
  const due = [await reserve(c, tier!, 3, `${eventId}-a`)];
  await moveExpiry(c, due, 60);
  return { eventId, due };
}

test("the target's timer: healthy seats come back, the drifted tier is repaired and logged once however often it drifts; a failing cleanup is logged once, with its error and tiers, and its recovery", async () => {
  const lines: string[] = [];
  const target = await startTestTarget({ cleanupIntervalMs: 25, onLog: (line) => lines.push(line) });
  const logged = (pattern: RegExp) => lines.filter((l) => pattern.test(l));
  try {
    assert.equal(target.cleanup, "timer");
    await withPg(target.databaseUrl, async (c) => {
      const p = await plantDriftedEvent(c, 600);
      await waitFor("the healthy tiers' seats back", async () =>
        (await reservedOf(c, p.healthy)).every((n) => n === 0) ? true : undefined,
      );
      assert.deepEqual(
        await holdStatuses(c, p.due),
        p.due.map(() => "expired"),
      );
      assert.deepEqual(await reservedOf(c, [p.drifted]), [1], "repaired from its one active hold");
      const repairLine = new RegExp(
        `^warning: hold cleanup \\(cleanup_expired_holds\\) repaired 1 tier\\(s\\).*tier ${p.drifted} \\(event ${p.eventId}, total 10, sold 0\\): reserved 1 but 2 seats expiring, 1 seats still held -> reserved 1`,
      );
      await waitFor("the repair warning", async () => (logged(repairLine).length ? true : undefined));

      // The same tier drifts again, three times, beside new healthy holds: repaired every time, logged once.
      for (let round = 1; round <= 3; round++) {
        await c.query("UPDATE public.ticket_tiers SET reserved_quantity = 0 WHERE id = $1", [p.drifted]);
        const drift = await c.query<{ id: string }>(
          "INSERT INTO public.ticket_holds (tier_id, event_id, quantity, expires_at) VALUES ($1, $2, 1, now() - interval '1 minute') RETURNING id",
          [p.drifted, p.eventId],
        );
        const healthy = await reserve(c, p.healthy[0]!, 1, `round-${round}`);
        await moveExpiry(c, [healthy], 600);
        await waitFor(`round ${round} expired`, async () =>
          (await holdStatuses(c, [drift.rows[0]!.id, healthy])).every((s) => s === "expired") ? true : undefined,
        );
      }
      const repairs = await c.query("SELECT application_name FROM public.hold_cleanup_repairs WHERE tier_id = $1", [p.drifted]);
      assert.deepEqual(
        repairs.rows.map((r) => r.application_name),
        Array(4).fill("liventix-target-cleanup"),
      );
      await cleanupTicks(target.databaseUrl, 3);
      assert.equal(logged(/repaired/).length, 1, lines.join("\n"));

      // The cleanup from before the fix, and the tier drifts once more: every run fails, as on old projects.
      await c.query(await cleanupBeforeFix());
      await c.query("UPDATE public.ticket_tiers SET reserved_quantity = 0 WHERE id = $1", [p.drifted]);
      const stuck = await c.query<{ id: string }>(
        "INSERT INTO public.ticket_holds (tier_id, event_id, quantity, expires_at) VALUES ($1, $2, 1, now() - interval '10 minutes') RETURNING id",
        [p.drifted, p.eventId],
      );
      const blocked = await reserve(c, p.healthy[1]!, 2, "blocked");
      await moveExpiry(c, [blocked], 600);
      const failure =
        /^warning: hold cleanup \(cleanup_expired_holds\) failed: new row for relation "ticket_tiers" violates check constraint "check_no_negative_availability" \(SQLSTATE 23514\)/;
      await waitFor("the failure warning", async () => (logged(failure).length ? true : undefined));
      assert.match(
        logged(failure)[0]!,
        new RegExp(`Holds past expiry: .*tier ${p.healthy[1]}: 1 holds \\(2 seats\\).*tier ${p.drifted}: 1 holds \\(1 seats\\)`),
      );
      await cleanupTicks(target.databaseUrl, 3);
      assert.equal(logged(/failed/).length, 1, lines.join("\n"));

      // Meanwhile a k6 run's teardown warns about the project's overdue holds (its own event is fine).
      const k6 = await runK6("dist/smoke.js", {
        flags: { vus: 1, iterations: 1 },
        env: {
          SUPABASE_URL: target.url,
          SUPABASE_ANON_KEY: target.anonKey,
          SUPABASE_SERVICE_ROLE_KEY: target.serviceRoleKey,
          THINK_TIME: "0",
          PAY_RATIO: "0",
        },
        timeoutMs: 60_000,
      });
      assert.match(k6.stdout + k6.stderr, /WARNING: 2 active hold\(s\) across the project are more than 120 s past their expiry/);

      // Pushing the fix again: the next run succeeds, the tier (already reported) is repaired without a new line.
      await c.query(await holdExpiryMigrationSql());
      await waitFor("the recovery line", async () =>
        logged(/^hold cleanup \(cleanup_expired_holds\) succeeds again/).length ? true : undefined,
      );
      assert.deepEqual(await holdStatuses(c, [stuck.rows[0]!.id, blocked]), ["expired", "expired"], lines.join("\n"));
      await cleanupTicks(target.databaseUrl, 3);
      assert.deepEqual(
        lines.filter((l) => /hold cleanup/.test(l)).map((l) => l.replace(/:.*/s, "")),
        ["warning", "warning", "hold cleanup (cleanup_expired_holds) succeeds again (it had failed"],
        lines.join("\n"),
      );
      assert.ok(lines.every((l) => !/repaired/.test(l) || l.startsWith("warning: ")));
    });
  } finally {
    await target.stop();
  }
});
