// The migrations must apply on both PostgreSQL versions that matter: 18 (the embedded target) and 15
// (what Supabase projects run), twice through the runner and once more as raw SQL, the way a user
// pasting them into the SQL editor a second time would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import { openDatabase } from "../backend/database.ts";
import { migrate, readMigrations } from "../backend/migrate.ts";
import { startPg15 } from "./support/pg15.ts";
import { withPg } from "./support/target.ts";

async function applyTwiceAndReplay(url: string, label: string): Promise<void> {
  const all = (await readMigrations()).map((m) => m.version);
  // openDatabase may have migrated already; either way a further run applies nothing.
  const first = await migrate(url);
  assert.ok(first.length === 0 || first.length === all.length, `${label}: first run applies all or nothing`);
  assert.deepEqual(await migrate(url), [], `${label}: second run applies nothing`);
  await withPg(url, async (c) => {
    for (const m of await readMigrations()) {
      await c.query(m.sql).catch((err: Error) => assert.fail(`${label}: raw SQL of ${m.version}_${m.name} again: ${err.message}`));
    }
    const setup = await c.query<{ s: { event_id: string } }>("SELECT public.load_test_setup(1, 5) AS s");
    const rows = await c.query<{ check_name: string; passed: boolean }>("SELECT * FROM public.load_test_invariants($1)", [
      setup.rows[0]!.s.event_id,
    ]);
    assert.deepEqual(
      rows.rows.map((r) => [r.check_name, r.passed]),
      INVARIANT_NAMES.map((n) => [n, true]),
      label,
    );
  });
}

test("migrations apply twice on PostgreSQL 18 (embedded)", async () => {
  const db = await openDatabase({ port: 0, fast: true });
  try {
    const version = await withPg(
      db.url,
      async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v,
    );
    assert.ok(Number(version) >= 180000, `embedded server is PostgreSQL 18 (got ${version})`);
    await applyTwiceAndReplay(db.url, "PostgreSQL 18");
  } finally {
    await db.stop();
  }
});

test("migrations apply twice on PostgreSQL 15", async () => {
  const pg15 = await startPg15();
  try {
    const url = pg15.url();
    const version = await withPg(
      url,
      async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v,
    );
    assert.match(version, /^15/, "the server is PostgreSQL 15");
    await applyTwiceAndReplay(url, "PostgreSQL 15");
  } finally {
    await pg15.stop();
  }
});
