// The target as an operator meets it: a database that goes away and comes back (503 with Retry-After,
// then recovery without a restart), `npm run target` stopping cleanly on SIGTERM, and bad configuration
// or a taken port refused with a message instead of a stack trace.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { freePort, openDatabase } from "../backend/database.ts";
import { EXIT } from "../cli/exit-codes.ts";
import { startTestTarget, waitFor, withPg, type LoadTestEvent } from "./support/target.ts";

const MAIN = path.resolve("cli/target.ts");

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "liventix-target-test-"));
  // As root the embedded server runs as an unprivileged user, which must be able to enter the folder.
  await chmod(dir, 0o755);
  return dir;
}

test("the API answers 503 while the database is down and recovers when it is back", async () => {
  const dir = await tempDir();
  const port = await freePort();
  let db = await openDatabase({ dataDir: path.join(dir, "pg"), port, fast: true });
  const t = await startTestTarget({ databaseUrl: db.url, poolTimeoutMs: 1000 });
  try {
    const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 10 });
    const buy = (session: string) =>
      t.post("/functions/v1/enhanced-checkout", { event_id: ev.event_id, tier_id: ev.tier_ids[0], quantity: 1, session_id: session });
    assert.equal((await buy("before")).status, 200);

    await db.stop();
    const down = await buy("during");
    assert.equal(down.status, 503);
    assert.equal(down.headers.get("retry-after"), "1");
    assert.equal(((await down.json()) as { error: string }).error, "SERVICE_UNAVAILABLE");
    const health = await fetch(`${t.url}/health`);
    assert.equal(health.status, 503);
    assert.ok(health.headers.get("retry-after"));

    db = await openDatabase({ dataDir: path.join(dir, "pg"), port, fast: true });
    await waitFor("/health to answer 200", async () => ((await fetch(`${t.url}/health`)).status === 200 ? true : undefined));
    assert.equal((await buy("after")).status, 200);
    const cap = await t.rpc<{ reserved: number }>("load_test_capacity", { p_event_id: ev.event_id });
    assert.equal(cap.reserved, 2, "the request made while the database was down reserved nothing");
  } finally {
    await t.stop();
    await db.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a request stuck behind a lock answers 503 at TARGET_LOCK_TIMEOUT_MS, and its connection stays usable", async () => {
  const t = await startTestTarget({ poolSize: 1, lockTimeoutMs: 300, statementTimeoutMs: 1000, queryTimeoutMs: 2000 });
  try {
    const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 10 });
    const buy = (session: string) =>
      t.post("/functions/v1/enhanced-checkout", { event_id: ev.event_id, tier_id: ev.tier_ids[0], quantity: 1, session_id: session });
    const backends = () =>
      withPg(t.databaseUrl, async (c) =>
        (await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'liventix-target'")).rows.map(
          (r) => r.pid,
        ),
      );
    const before = await backends();
    assert.equal(before.length, 1);
    await withPg(t.databaseUrl, async (c) => {
      await c.query("BEGIN");
      await c.query("SELECT 1 FROM ticket_tiers WHERE id = $1 FOR UPDATE", [ev.tier_ids[0]]);
      const started = Date.now();
      const stuck = await buy("behind-the-lock");
      const took = Date.now() - started;
      assert.equal(stuck.status, 503);
      assert.equal(stuck.headers.get("retry-after"), "1");
      assert.deepEqual(await stuck.json(), {
        error: "SERVICE_UNAVAILABLE",
        message:
          "the database is unavailable, saturated or too slow to answer in time; retry after the indicated delay (with the same Idempotency-Key)",
        sqlstate: "55P03",
      });
      assert.ok(took >= 300 && took < 2000, `answered after ${took} ms: the server's lock_timeout, not the client's bound`);
      await c.query("ROLLBACK");
    });
    // The pool's only connection was rolled back, not destroyed, and serves the next request.
    assert.equal((await buy("after-the-lock")).status, 200);
    assert.deepEqual(await backends(), before, "the same backend: the server cancelled, the connection survived");
    const cap = await t.rpc<{ reserved: number }>("load_test_capacity", { p_event_id: ev.event_id });
    assert.equal(cap.reserved, 1, "the timed-out request reserved nothing");
  } finally {
    await t.stop();
  }
});

test("the cleanup timer clears a backlog that takes longer than a request may", async () => {
  // Requests get 50 ms of statement time here; expiring 20,000 holds takes several times that.
  const bounds = { statementTimeoutMs: 50, lockTimeoutMs: 50, queryTimeoutMs: 500 };
  const idle = await startTestTarget({ ...bounds, cleanupIntervalMs: 86_400_000 });
  let timed: Awaited<ReturnType<typeof startTestTarget>> | undefined;
  try {
    const ev = await idle.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 1_000_000, p_hold_seconds: 1 });
    const reserved = () =>
      withPg(idle.databaseUrl, async (c) =>
        Number(
          (await c.query<{ n: string }>("SELECT reserved_quantity AS n FROM ticket_tiers WHERE id = $1", [ev.tier_ids[0]])).rows[0]!.n,
        ),
      );
    await withPg(idle.databaseUrl, (c) =>
      c.query(
        `WITH backlog AS (INSERT INTO ticket_holds (tier_id, event_id, session_id, quantity, expires_at)
           SELECT $1, $2, 'backlog-' || g, 1, now() - interval '1 minute' FROM generate_series(1, 20000) g RETURNING 1)
         UPDATE ticket_tiers SET reserved_quantity = (SELECT count(*) FROM backlog) WHERE id = $1`,
        [ev.tier_ids[0], ev.event_id],
      ),
    );
    // As a request (and nothing else cleaning), the same cleanup runs out of time and changes nothing.
    const rpc = await idle.post("/rest/v1/rpc/cleanup_expired_holds", {}, { key: idle.serviceRoleKey });
    assert.equal(rpc.status, 503);
    assert.equal(((await rpc.json()) as { sqlstate?: string }).sqlstate, "57014");
    assert.equal(await reserved(), 20_000);
    timed = await startTestTarget({ ...bounds, databaseUrl: idle.databaseUrl, cleanupIntervalMs: 200 });
    await waitFor("the timer to expire the backlog", async () => ((await reserved()) === 0 ? true : undefined), 30_000);
  } finally {
    await timed?.stop();
    await idle.stop();
  }
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run target`; once `ready(stdout, stderr)` holds, runs `then` and sends SIGTERM. */
function runMain(
  env: Record<string, string>,
  ready?: (stdout: string, stderr: string) => boolean,
  then?: (stdout: string) => Promise<void>,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = { stdout: "", stderr: "" };
    let triggered = false;
    // A bounded run: whatever happens, the child is gone after 60 s.
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const check = () => {
      if (triggered || !ready?.(out.stdout, out.stderr)) return;
      triggered = true;
      (then ? then(out.stdout) : Promise.resolve()).then(
        () => child.kill("SIGTERM"),
        (err: unknown) => {
          child.kill("SIGTERM");
          reject(err);
        },
      );
    };
    child.stdout.on("data", (d: Buffer) => {
      out.stdout += d.toString();
      check();
    });
    child.stderr.on("data", (d: Buffer) => {
      out.stderr += d.toString();
      check();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(guard);
      resolve({ code, ...out });
    });
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

test("npm run target prints the variables, serves, and stops everything on SIGTERM", async () => {
  const dir = await tempDir();
  const [apiPort, dbPort] = [await freePort(), await freePort()];
  try {
    const run = await runMain(
      { TARGET_PORT: String(apiPort), TARGET_DB_PORT: String(dbPort), TARGET_DATA_DIR: path.join(dir, "pg") },
      (stdout, stderr) => stderr.includes("ready") && stdout.includes("export DATABASE_URL="),
      async (stdout) => {
        const url = /export SUPABASE_URL=(\S+)/.exec(stdout)?.[1];
        assert.equal(url, `http://127.0.0.1:${apiPort}`);
        assert.equal((await fetch(`${url}/health`)).status, 200);
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^export SUPABASE_ANON_KEY=eyJ/m);
    assert.match(run.stdout, /^export SUPABASE_SERVICE_ROLE_KEY=eyJ/m);
    assert.match(run.stdout, new RegExp(`^export DATABASE_URL=postgresql://postgres:[^@]+@127\\.0\\.0\\.1:${dbPort}/postgres$`, "m"));
    assert.match(run.stderr, /stopped/);
    assert.ok(await portFree(apiPort), "the HTTP port is released");
    assert.ok(await portFree(dbPort), "PostgreSQL is stopped");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("bad configuration exits 2 naming each variable, without a stack trace", async () => {
  const run = await runMain({
    TARGET_POOL_SIZE: "lots",
    TARGET_ISOLATION: "snapshot",
    TARGET_PORT: "-1",
    JWT_SECRET: "short",
    TARGET_LOG_LEVEL: "loud",
  });
  assert.equal(run.code, EXIT.USAGE);
  for (const name of ["TARGET_POOL_SIZE=lots", "TARGET_ISOLATION=snapshot", "TARGET_PORT=-1", "JWT_SECRET:", "TARGET_LOG_LEVEL=loud"]) {
    assert.ok(run.stderr.includes(name), `names ${name}: ${run.stderr}`);
  }
  assert.doesNotMatch(run.stderr, /short|\n\s+at /, "no secret value, no stack");
});

test("timeouts that contradict each other are refused, naming both variables", async () => {
  const run = await runMain({ TARGET_STATEMENT_TIMEOUT_MS: "3000", TARGET_QUERY_TIMEOUT_MS: "3000" });
  assert.equal(run.code, EXIT.USAGE);
  assert.match(run.stderr, /TARGET_STATEMENT_TIMEOUT_MS=3000: must be below TARGET_QUERY_TIMEOUT_MS \(3000\)/);
});

test("a taken port is refused with a clear message and nothing left running", async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const taken = (blocker.address() as { port: number }).port;
  const dir = await tempDir();
  const dbPort = await freePort();
  try {
    const api = await runMain({ TARGET_PORT: String(taken), TARGET_DB_PORT: String(dbPort), TARGET_DATA_DIR: path.join(dir, "pg") });
    assert.equal(api.code, EXIT.ERROR);
    assert.match(api.stderr, new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is already in use.*TARGET_PORT`));
    assert.doesNotMatch(api.stderr, /\n\s+at /);
    assert.ok(await portFree(dbPort), "the embedded PostgreSQL started for it was stopped again");

    const db = await runMain({ TARGET_PORT: "0", TARGET_DB_PORT: String(taken), TARGET_DATA_DIR: path.join(dir, "pg") });
    assert.equal(db.code, EXIT.ERROR);
    assert.match(db.stderr, /TARGET_DB_PORT/);
  } finally {
    blocker.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("an unreachable DATABASE_URL is named (password masked) with the fix", async () => {
  const port = await freePort();
  const run = await runMain({ TARGET_PORT: "0", DATABASE_URL: `postgresql://postgres:s3cret-pw@127.0.0.1:${port}/postgres` });
  assert.equal(run.code, EXIT.UNREACHABLE);
  assert.match(run.stderr, /cannot reach the database in DATABASE_URL \(postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1/);
  assert.match(run.stderr, /unset DATABASE_URL/);
  assert.doesNotMatch(run.stderr + run.stdout, /s3cret-pw|\n\s+at /);
});
