// The migrations must apply on both PostgreSQL versions that matter: 18 (the embedded target) and 15
// (what Supabase projects run), twice through the runner and once more as raw SQL, the way a user
// pasting them into the SQL editor a second time would.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import { freePort, openDatabase } from "../target/database.ts";
import { migrate, readMigrations } from "../target/migrate.ts";
import { withPg } from "./support/target.ts";

const run = promisify(execFile);
const PG15_BIN = "/usr/lib/postgresql/15/bin";

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
    assert.deepEqual(rows.rows.map((r) => [r.check_name, r.passed]), INVARIANT_NAMES.map((n) => [n, true]), label);
  });
}

test("migrations apply twice on PostgreSQL 18 (embedded)", async () => {
  const db = await openDatabase({ port: 0, fast: true });
  try {
    const version = await withPg(db.url, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    assert.ok(Number(version) >= 180000, `embedded server is PostgreSQL 18 (got ${version})`);
    await applyTwiceAndReplay(db.url, "PostgreSQL 18");
  } finally {
    await db.stop();
  }
});

test("migrations apply twice on PostgreSQL 15", async () => {
  for (const bin of ["initdb", "pg_ctl", "postgres"]) {
    await access(path.join(PG15_BIN, bin)).catch(() =>
      assert.fail(`${PG15_BIN}/${bin} is missing: install PostgreSQL 15 (apt-get install -y postgresql-15)`),
    );
  }
  // PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user in a folder it owns.
  const asRoot = process.getuid?.() === 0;
  const as = async (bin: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", path.join(PG15_BIN, bin), ...args]) : run(path.join(PG15_BIN, bin), args);
  const dir = await mkdtemp(path.join(tmpdir(), "liventix-pg15-"));
  if (asRoot) {
    const ids = await run("id", ["-u", "postgres"]).then(async (u) => [Number(u.stdout), Number((await run("id", ["-g", "postgres"])).stdout)]);
    await chown(dir, ids[0]!, ids[1]!);
  }
  await chmod(dir, 0o700);
  const data = path.join(dir, "data");
  const port = await freePort();
  await as("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--locale=C", "--encoding=UTF8"]);
  await as("pg_ctl", [
    "-D", data, "-l", path.join(dir, "log"), "-w", "-t", "60",
    "-o", `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`,
    "start",
  ]);
  try {
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const version = await withPg(url, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    assert.match(version, /^15/, "the server is PostgreSQL 15");
    await applyTwiceAndReplay(url, "PostgreSQL 15");
  } finally {
    await as("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
