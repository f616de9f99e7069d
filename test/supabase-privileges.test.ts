// The migrations are safe on a real Supabase project: pushed with the real Supabase CLI into a database
// that has Supabase's API roles, the extensions schema and hosted projects' default privileges (which
// hand anon and authenticated every new function and table), they leave anon and authenticated unable
// to execute any function of the suite or touch its tables, and service_role exactly what the API and
// the suite's tools call. Proved on a project that already pushed the earlier migrations (the hole was
// there, as reported) and on a fresh one; then `npm run readiness` finds the hole and its fix works.
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type pg from "pg";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import { SERVICE_ROLE_FUNCTIONS, SQL_FUNCTIONS, SQL_TABLES } from "../lib/sql-functions.ts";
import type { ReadinessItem } from "../race-lab/readiness.ts";
import { runCli } from "./support/race-lab.ts";
import { startSupabaseCluster, supabaseDbPush, type SupabaseCluster } from "./support/supabase-project.ts";
import { withPg } from "./support/target.ts";

const PRIVILEGES_MIGRATION = "20261201000000";
const API_ROLES = ["anon", "authenticated"];
const TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];

let cluster: SupabaseCluster;
before(async () => {
  cluster = await startSupabaseCluster();
});
after(async () => {
  await cluster?.stop();
});

/** Migrations a project had pushed before this fix existed. */
const beforeTheFix = (file: string) => file < PRIVILEGES_MIGRATION;

async function executors(c: pg.Client, role: string): Promise<string[]> {
  const { rows } = await c.query<{ proname: string }>(
    `SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
        AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1`,
    [role],
  );
  return rows.map((r) => r.proname);
}

/** An order pending payment, made the way the API makes one (as the owner). */
async function pendingOrder(c: pg.Client): Promise<{ eventId: string; tierId: string; orderId: string }> {
  const setup = (await c.query<{ s: { event_id: string; tier_ids: string[] } }>("SELECT public.load_test_setup(1, 5) AS s")).rows[0]!.s;
  const out = (
    await c.query<{ o: { ok: boolean; order_id: string } }>("SELECT public.enhanced_checkout($1::jsonb) AS o", [
      JSON.stringify({ event_id: setup.event_id, tier_id: setup.tier_ids[0], quantity: 1, session_id: `s-${Date.now()}` }),
    ])
  ).rows[0]!.o;
  assert.equal(out.ok, true);
  return { eventId: setup.event_id, tierId: setup.tier_ids[0]!, orderId: out.order_id };
}

/** Runs `sql` as `role` (the project's postgres is a member of the API roles, as on Supabase); returns the SQLSTATE or "ok". */
async function asRole(c: pg.Client, role: string, sql: string, params: unknown[] = []): Promise<string> {
  await c.query("BEGIN");
  try {
    await c.query(`SET LOCAL ROLE ${role}`);
    await c.query(sql, params);
    await c.query("COMMIT");
    return "ok";
  } catch (err) {
    await c.query("ROLLBACK");
    return (err as { code?: string }).code ?? String(err);
  }
}

async function orderStatus(c: pg.Client, orderId: string): Promise<string> {
  return (await c.query<{ status: string }>("SELECT status FROM public.orders WHERE id = $1", [orderId])).rows[0]!.status;
}

async function assertLockedDown(url: string): Promise<void> {
  await withPg(url, async (c) => {
    const all = await executors(c, "postgres");
    assert.deepEqual(all, [...SQL_FUNCTIONS].sort(), "every function in public is one of lib/sql-functions.ts (add new ones there)");
    for (const role of API_ROLES) assert.deepEqual(await executors(c, role), [], `${role} can execute no function in public`);
    assert.deepEqual(
      await executors(c, "service_role"),
      [...SERVICE_ROLE_FUNCTIONS].sort(),
      "service_role: exactly the API's and the tools' functions",
    );

    const tables = await c.query<{ relname: string; relrowsecurity: boolean }>(
      "SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
    );
    assert.deepEqual(
      tables.rows.map((t) => t.relname),
      [...SQL_TABLES].sort(),
    );
    for (const t of tables.rows) {
      assert.equal(t.relrowsecurity, true, `RLS on ${t.relname}`);
      for (const role of API_ROLES) {
        for (const privilege of TABLE_PRIVILEGES) {
          const has = await c.query<{ has: boolean }>("SELECT has_table_privilege($1, $2, $3) AS has", [
            role,
            `public.${t.relname}`,
            privilege,
          ]);
          assert.equal(has.rows[0]!.has, false, `${role} has no ${privilege} on ${t.relname}`);
        }
      }
    }
    const helpers = await c.query<{ role: string; usage: boolean }>(
      "SELECT r AS role, has_schema_privilege(r, 'liventix_private', 'USAGE') AS usage FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) r",
    );
    assert.ok(
      helpers.rows.every((h) => !h.usage),
      "no API role may use the helpers' schema",
    );

    // The attacks of the report, with nothing but the API roles' own rights.
    const { eventId, tierId, orderId } = await pendingOrder(c);
    assert.equal(await asRole(c, "anon", "SELECT public.complete_payment($1, 'evt_free_tickets')", [orderId]), "42501");
    assert.equal(await asRole(c, "authenticated", "SELECT public.complete_payment($1, 'evt_free_tickets')", [orderId]), "42501");
    assert.equal(await orderStatus(c, orderId), "pending", "no free tickets");
    assert.equal(await asRole(c, "anon", "SELECT public.load_test_setup()"), "42501");
    assert.equal(await asRole(c, "authenticated", "SELECT public.try_reserve($1, 1, 'x')", [tierId]), "42501");
    assert.equal(
      await asRole(c, "anon", "TRUNCATE public.ticket_tiers CASCADE"),
      "42501",
      "TRUNCATE is not governed by RLS: the grant itself is gone",
    );
    assert.equal(await asRole(c, "anon", "SELECT * FROM public.orders"), "42501");

    // service_role keeps what it needs, and only that.
    assert.equal(await asRole(c, "service_role", "SELECT public.load_test_setup(1, 5)"), "ok");
    assert.equal(await asRole(c, "service_role", "SELECT public.try_reserve($1, 1, 'x')", [tierId]), "42501");
    assert.equal(await asRole(c, "service_role", "SELECT public.complete_payment($1, 'evt_paid')", [orderId]), "ok");
    assert.equal(await orderStatus(c, orderId), "paid");
    const inv = await c.query<{ check_name: string; passed: boolean }>("SELECT * FROM public.load_test_invariants($1)", [eventId]);
    assert.deepEqual(
      inv.rows.map((r) => [r.check_name, r.passed]),
      INVARIANT_NAMES.map((n) => [n, true]),
    );
    // The trigger fires without EXECUTE on its function: a deleted tier still takes its holds along.
    assert.equal(await asRole(c, "service_role", "DELETE FROM public.ticket_tiers WHERE id = $1", [tierId]), "ok");
    const left = await c.query<{ n: string }>("SELECT count(*) AS n FROM public.ticket_holds WHERE tier_id = $1", [tierId]);
    assert.equal(Number(left.rows[0]!.n), 0);
  });
}

test("a project that pushed the earlier migrations had the hole; pushing again closes it", async () => {
  const url = await cluster.project("existing_project");
  await supabaseDbPush(url, beforeTheFix);
  await withPg(url, async (c) => {
    // The control: this database hands out privileges as a hosted project does, so the hole is real here.
    assert.ok((await executors(c, "anon")).includes("complete_payment"), "anon could execute complete_payment before the fix");
    const { orderId } = await pendingOrder(c);
    assert.equal(await asRole(c, "anon", "SELECT public.complete_payment($1, 'evt_free_tickets')", [orderId]), "ok");
    assert.equal(await orderStatus(c, orderId), "paid", "the reported attack worked on the old migrations");
  });
  const push = await supabaseDbPush(url);
  const applied = [...(push.stdout + push.stderr).matchAll(/Applying migration (\S+)/g)].map((m) => m[1]!);
  assert.ok(applied.length > 0 && applied.every((f) => !beforeTheFix(f)), `only the new files are applied: ${applied.join(", ")}`);
  await assertLockedDown(url);
});

test("a fresh project pushed in one go is locked down, and a second push changes nothing", async () => {
  const url = await cluster.project("fresh_project");
  await supabaseDbPush(url);
  await assertLockedDown(url);
  const again = await supabaseDbPush(url);
  assert.match(again.stdout + again.stderr, /up to date/i);
});

test("npm run readiness reports the hole with the SQL that closes it, and passes once it is applied", async () => {
  const url = await cluster.project("readiness_project");
  await supabaseDbPush(url);
  const json = path.join(await mkdtemp(path.join(tmpdir(), "readiness-")), "r.json");
  const items = async () => {
    const r = await runCli("readiness", ["--cleanup-by-app", "--json", json], { DATABASE_URL: url });
    return { r, items: (JSON.parse(await readFile(json, "utf8")) as { items: ReadinessItem[] }).items };
  };
  const byName = (list: ReadinessItem[], prefix: string) => list.find((i) => i.name.startsWith(prefix))!;

  const clean = await items();
  assert.equal(clean.r.code, 0, clean.r.stdout + clean.r.stderr);
  assert.equal(byName(clean.items, "API roles cannot execute").status, "pass");
  assert.equal(byName(clean.items, "suite tables closed").status, "pass");

  // What a project that ran only the old migrations, or granted by hand, looks like.
  await withPg(url, (c) =>
    c.query(`GRANT EXECUTE ON FUNCTION public.complete_payment(uuid, text), public.try_reserve(uuid, integer, text, uuid) TO anon;
             GRANT TRUNCATE ON public.ticket_tiers TO authenticated;
             ALTER TABLE public.payment_events DISABLE ROW LEVEL SECURITY;
             CREATE FUNCTION public.project_own_definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';`),
  );
  const holed = await items();
  assert.equal(holed.r.code, 1);
  assert.match(holed.r.stdout, /❌\s+API roles cannot execute the suite's functions\s+anon can execute complete_payment, try_reserve/);
  const fns = byName(holed.items, "API roles cannot execute");
  assert.equal(
    fns.fix,
    "REVOKE ALL ON FUNCTION public.complete_payment(uuid, text), public.try_reserve(uuid, integer, text, uuid) FROM PUBLIC, anon, authenticated;",
  );
  const tables = byName(holed.items, "suite tables closed");
  assert.equal(tables.status, "fail");
  assert.match(tables.observed, /payment_events: RLS off; ticket_tiers: authenticated TRUNCATE/);
  const others = byName(holed.items, "other SECURITY DEFINER");
  assert.equal(others.status, "warn", "a project's own function may be meant for browsers: a warning, not a failure");
  assert.match(others.observed, /anon can execute project_own_definer/);

  for (const item of [fns, tables, others]) await withPg(url, (c) => c.query(item.fix));
  const fixed = await items();
  assert.equal(fixed.r.code, 0, fixed.r.stdout);
  assert.ok(fixed.items.every((i) => i.status !== "fail"));
  assert.equal(byName(fixed.items, "other SECURITY DEFINER").status, "pass");
});
