// The target's database layer: each statement is its own transaction at the configured isolation and
// bounds, set per transaction (nothing a pooler could lose between transactions), values travel as
// bind parameters, conflicts are retried, and a failed statement leaves its connection clean.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import type { Isolation } from "../backend/config.ts";
import { openDatabase, type Database } from "../backend/database.ts";
import { createDb, type DbOptions } from "../backend/db.ts";
import { HttpError } from "../backend/http-errors.ts";
import { RETRIES_HEADER } from "../lib/errors.ts";
import { waitFor, withPg } from "./support/target.ts";

let server: Database;
before(async () => {
  server = await openDatabase({ port: 0, fast: true, migrate: false });
});
after(async () => {
  await server?.stop();
});

const options = (extra: Partial<DbOptions> = {}): DbOptions => ({
  databaseUrl: server.url,
  isolation: "read_committed",
  poolSize: 1,
  poolTimeoutMs: 2000,
  maxRetries: 0,
  queryTimeoutMs: 2500,
  statementTimeoutMs: 2000,
  lockTimeoutMs: 1500,
  ...extra,
});

interface Settings {
  isolation: string;
  session_default: string;
  statement_timeout: string;
  lock_timeout: string;
  xid: string;
}
const SETTINGS =
  "SELECT current_setting('transaction_isolation') AS isolation, current_setting('default_transaction_isolation') AS session_default, " +
  "(SELECT setting FROM pg_settings WHERE name = 'statement_timeout') AS statement_timeout, " +
  "(SELECT setting FROM pg_settings WHERE name = 'lock_timeout') AS lock_timeout, txid_current()::text AS xid";

// Typed by Isolation: a level added to the config cannot go untested here.
const SHOWN: Record<Isolation, string> = {
  read_committed: "read committed",
  repeatable_read: "repeatable read",
  serializable: "serializable",
};

for (const [isolation, shown] of Object.entries(SHOWN) as [Isolation, string][]) {
  test(`every statement is its own ${isolation} transaction with the configured bounds, whatever the role's defaults`, async () => {
    // A role default the target must override, as Supabase sets statement_timeout per role.
    await withPg(server.url, (c) => c.query("ALTER ROLE CURRENT_USER SET statement_timeout = '7s'"));
    const db = createDb(options({ isolation, statementTimeoutMs: 1234, lockTimeoutMs: 567 }));
    try {
      const [first] = await db.transaction<Settings>(SETTINGS);
      const [second] = await db.transaction<Settings>(SETTINGS);
      const expected = {
        isolation: shown,
        session_default: "read committed",
        statement_timeout: "1234",
        lock_timeout: "567",
        xid: undefined,
      };
      assert.deepEqual({ ...first, xid: undefined }, expected, "the level comes with BEGIN: the session's default is untouched");
      assert.notEqual(first!.xid, second!.xid, "two statements, two transactions: each committed on its own");
    } finally {
      await db.end();
      await withPg(server.url, (c) => c.query("ALTER ROLE CURRENT_USER RESET statement_timeout"));
    }
  });
}

test("a failed statement rolls back on the server and its connection serves the next one", async () => {
  const db = createDb(options());
  try {
    await withPg(server.url, (c) => c.query("CREATE TABLE IF NOT EXISTS db_layer_probe (n int)"));
    await assert.rejects(db.transaction("INSERT INTO db_layer_probe SELECT 1 / $1::int", [0]), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 400, "division by zero is class 22: the argument's fault");
      return true;
    });
    const states = await withPg(server.url, (c) =>
      c.query<{ state: string }>("SELECT state FROM pg_stat_activity WHERE application_name = 'liventix-target'"),
    );
    assert.deepEqual(states.rows, [{ state: "idle" }], "not idle in (aborted) transaction");
    const [row] = await db.transaction<{ n: number }>("INSERT INTO db_layer_probe VALUES ($1) RETURNING n", [2]);
    assert.equal(row!.n, 2);
    const stored = await withPg(server.url, (c) => c.query<{ n: number }>("SELECT n FROM db_layer_probe"));
    assert.deepEqual(stored.rows, [{ n: 2 }]);
  } finally {
    await db.end();
  }
});

test("values are bind parameters: quotes and placeholders in them are data, a NUL is the client's 400", async () => {
  const db = createDb(options());
  try {
    const tricky = "it's $1 '; SELECT 1; --";
    const [row] = await db.transaction<{ text: string; list: string[] }>("SELECT $1::text AS text, $2::text[] AS list", [
      tricky,
      [tricky, "b"],
    ]);
    assert.deepEqual(row, { text: tricky, list: [tricky, "b"] });
    await assert.rejects(db.transaction("SELECT $1::text", ["a\u0000b"]), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.deepEqual([err.status, err.code], [400, "INVALID_REQUEST"]);
      return true;
    });
  } finally {
    await db.end();
  }
});

test("40001 and 40P01 are retried up to maxRetries, counted, and past them answered 503 with the count", async () => {
  const db = createDb(options({ maxRetries: 3 }));
  try {
    // nextval is not rolled back with the failed statement: the counter says which attempt this is.
    await withPg(server.url, (c) =>
      c.query(`CREATE SEQUENCE IF NOT EXISTS db_layer_attempts;
        CREATE OR REPLACE FUNCTION db_layer_conflict(fail_until bigint, code text) RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE n bigint := nextval('db_layer_attempts');
        BEGIN
          IF n <= fail_until THEN RAISE EXCEPTION 'planted conflict' USING ERRCODE = code; END IF;
          RETURN n;
        END $$`),
    );
    const restart = () => withPg(server.url, (c) => c.query("ALTER SEQUENCE db_layer_attempts RESTART"));
    for (const code of ["40001", "40P01"]) {
      await restart();
      const ok = await db.retried<{ n: string }>("SELECT db_layer_conflict($1, $2) AS n", [2, code]);
      assert.deepEqual([ok.rows[0]!.n, ok.retries], ["3", 2], `${code}: the third attempt answered`);
    }
    await restart();
    await assert.rejects(db.transaction("SELECT db_layer_conflict($1, $2)", [100, "40001"]), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.deepEqual([err.status, err.code], [503, "SERIALIZATION_FAILURE"]);
      assert.equal(err.headers()[RETRIES_HEADER], "3");
      return true;
    });
    assert.deepEqual(db.stats(), { retries: 2 + 2 + 3, exhausted: 1 });
  } finally {
    await db.end();
  }
});

test("one round trip: the server commits and releases the statement's locks while Node is not running", async () => {
  // Client-side bounds past the pause below: timers that fire while Node is paused would end the request.
  const db = createDb(options({ queryTimeoutMs: 10_000, statementTimeoutMs: 5000 }));
  const waiter = new pg.Client({ connectionString: server.url });
  await waiter.connect();
  try {
    const running = db.transaction("SELECT pg_advisory_xact_lock(4242), pg_sleep(0.3)");
    await withPg(server.url, (c) =>
      waitFor("the target's statement to hold the lock", async () => {
        const held = await c.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted");
        return held.rowCount === 1 ? true : undefined;
      }),
    );
    const acquired = waiter.query<{ at: Date }>("SELECT clock_timestamp() AS at FROM (SELECT pg_advisory_xact_lock(4242) OFFSET 0) l");
    // The event loop stops for 3 s: Node reads no answer and writes nothing. Only a COMMIT already on the
    // wire can release the lock meanwhile.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    const resumedAt = Date.now();
    const at = (await acquired).rows[0]!.at.getTime();
    const early = resumedAt - at;
    assert.ok(early > 1500, `the lock passed to the waiter ${early} ms before Node resumed; it must pass while Node is paused`);
    await running;
  } finally {
    await waiter.end();
    await db.end();
  }
});
