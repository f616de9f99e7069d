// The issue-11 scenario, planted the same way by every hold-expiry test: healthy tiers beside a tier whose
// reserved_quantity drifted below its holds (what a lost update leaves), holds moved past their expiry;
// plus the cleanup from before the fix and a way to count the target's cleanup ticks.
import { copyFile, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type pg from "pg";
import { MIGRATIONS_DIR, readMigrations } from "../../backend/migrate.ts";
import { waitFor, withPg } from "./target.ts";

export const HOLD_EXPIRY_VERSION = "20261201000100";

export interface PlantedEvent {
  eventId: string;
  healthy: string[];
  drifted: string;
  /** Holds moved past their expiry (all but one of the drifted tier's). */
  due: string[];
  /** The drifted tier's hold that is not due yet. */
  notDue: string;
}

export async function reserve(c: pg.Client, tierId: string, quantity: number, session: string): Promise<string> {
  const r = await c.query<{ r: { ok: boolean; hold_id: string } }>("SELECT public.try_reserve($1, $2, $3) AS r", [
    tierId,
    quantity,
    session,
  ]);
  if (!r.rows[0]!.r.ok) throw new Error(`reserve failed: ${JSON.stringify(r.rows[0]!.r)}`);
  return r.rows[0]!.r.hold_id;
}

export async function moveExpiry(c: pg.Client, holdIds: string[], secondsAgo: number): Promise<void> {
  await c.query("UPDATE public.ticket_holds SET expires_at = now() - make_interval(secs => $2) WHERE id = ANY ($1)", [holdIds, secondsAgo]);
}

/**
 * Three 10-seat tiers: two healthy ones with holds of 2 and 1 seats, one whose three 1-seat holds are
 * counted as reserved_quantity 1 (two increments lost). All holds but one of the drifted tier's are
 * `secondsAgo` past their expiry: its counter (1) cannot cover the 2 seats due back.
 */
export async function plantDriftedEvent(c: pg.Client, secondsAgo: number): Promise<PlantedEvent> {
  const setup = await c.query<{ s: { event_id: string; tier_ids: string[] } }>(
    "SELECT public.load_test_setup(3, 10, 600, 0, NULL, 'drift') AS s",
  );
  const { event_id: eventId, tier_ids: tiers } = setup.rows[0]!.s;
  const [a, b, drifted] = tiers as [string, string, string];
  const due = [
    await reserve(c, a, 2, `${eventId}-1`),
    await reserve(c, a, 1, `${eventId}-2`),
    await reserve(c, b, 2, `${eventId}-3`),
    await reserve(c, b, 1, `${eventId}-4`),
    await reserve(c, drifted, 1, `${eventId}-5`),
    await reserve(c, drifted, 1, `${eventId}-6`),
  ];
  const notDue = await reserve(c, drifted, 1, `${eventId}-7`);
  await c.query("UPDATE public.ticket_tiers SET reserved_quantity = 1 WHERE id = $1", [drifted]);
  await moveExpiry(c, due, secondsAgo);
  return { eventId, healthy: [a, b], drifted, due, notDue };
}

export async function holdStatuses(c: pg.Client, ids: string[]): Promise<string[]> {
  const r = await c.query<{ status: string }>("SELECT status FROM public.ticket_holds WHERE id = ANY ($1) ORDER BY id", [ids]);
  return r.rows.map((row) => row.status);
}

export async function reservedOf(c: pg.Client, tierIds: string[]): Promise<number[]> {
  const r = await c.query<{ id: string; reserved_quantity: number }>(
    "SELECT id, reserved_quantity FROM public.ticket_tiers WHERE id = ANY ($1)",
    [tierIds],
  );
  return tierIds.map((id) => r.rows.find((row) => row.id === id)!.reserved_quantity);
}

/** A folder with the migrations that came before the hold-expiry fix: what existing projects pushed. */
export async function migrationsBeforeFix(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "liventix-old-migrations-"));
  for (const m of await readMigrations()) {
    if (m.version < HOLD_EXPIRY_VERSION)
      await copyFile(path.join(MIGRATIONS_DIR, `${m.version}_${m.name}.sql`), path.join(dir, `${m.version}_${m.name}.sql`));
  }
  return dir;
}

/** cleanup_expired_holds() as it was before the fix (one statement for all tiers, then unguarded decrements). */
export async function cleanupBeforeFix(): Promise<string> {
  const [file] = (await readMigrations()).filter((m) => m.name === "reservation_functions");
  const fn = /CREATE OR REPLACE FUNCTION public\.cleanup_expired_holds\(\)[\s\S]*?\n\$\$;/.exec(file!.sql);
  if (!fn) throw new Error("cleanup_expired_holds() not found in the reservation_functions migration");
  return fn[0];
}

export async function holdExpiryMigrationSql(): Promise<string> {
  return readFile(path.join(MIGRATIONS_DIR, `${HOLD_EXPIRY_VERSION}_hold_expiry.sql`), "utf8");
}

/**
 * Waits until the target's cleanup has ticked `n` more times: every tick reads the repair log on the
 * cleanup's own connection, so each new query_start of that read is one tick.
 */
export async function cleanupTicks(databaseUrl: string, n: number): Promise<void> {
  const seen = new Set<string>();
  await withPg(databaseUrl, (c) =>
    waitFor(
      `${n} cleanup ticks`,
      async () => {
        const r = await c.query<{ started: string }>(
          `SELECT query_start::text AS started FROM pg_stat_activity
            WHERE application_name = 'liventix-target-cleanup' AND query LIKE '%FROM public.hold_cleanup_repairs WHERE id >%'`,
        );
        for (const row of r.rows) seen.add(row.started);
        return seen.size > n ? true : undefined;
      },
      30_000,
    ),
  );
}
