// Tests touch only what they create. With DATABASE_URL, SUPABASE_URL and the keys pointing at a sentinel
// (a migrated database a careless test would happily plant faults in), a fault-planting test file runs
// green and the library's entry points start their own servers, and the sentinel sees not one session.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { applyFault } from "../race-lab/faults/catalog.ts";
import { openDatabase, type Database } from "../backend/database.ts";
import { migrate } from "../backend/migrate.ts";
import { startLabServer } from "./support/race-lab.ts";
import { startTestTarget, waitFor, withPg } from "./support/target.ts";

let server: Database;
let sentinelUrl: string;

before(async () => {
  server = await openDatabase({ port: 0, fast: true, migrate: false });
  await withPg(server.url, (c) => c.query("CREATE DATABASE sentinel"));
  const u = new URL(server.url);
  u.pathname = "/sentinel";
  sentinelUrl = u.toString();
  await migrate(sentinelUrl);
});
after(async () => {
  await server?.stop();
});

/** Sessions ever opened to the sentinel, read from the server's own postgres database. */
async function sentinelSessions(): Promise<number> {
  return withPg(server.url, async (c) => {
    const { rows } = await c.query<{ sessions: string }>("SELECT sessions FROM pg_stat_database WHERE datname = 'sentinel'");
    return Number(rows[0]!.sessions);
  });
}

/** What a planted fault or a test's setup would change: function bodies, CHECK constraints, rows. */
async function sentinelFingerprint(): Promise<Record<string, string>> {
  return withPg(sentinelUrl, async (c) => {
    const { rows } = await c.query<Record<string, string>>(`
      SELECT (SELECT md5(string_agg(proname || ':' || md5(prosrc), ',' ORDER BY proname)) FROM pg_proc
               WHERE pronamespace = 'public'::regnamespace) AS functions,
             (SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'public.ticket_tiers'::regclass) AS checks,
             (SELECT count(*) FROM public.events)::text AS events,
             (SELECT count(*) FROM public.ticket_holds)::text AS holds`);
    return rows[0]!;
  });
}

function runTestFile(file: string, pattern: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--test", `--test-name-pattern=${pattern}`, file], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    });
  });
}

test("a fault-planting test and the library's entry points leave a DATABASE_URL sentinel untouched", async () => {
  const fingerprint = await sentinelFingerprint();
  const sessions = await sentinelSessions();
  const pointed = {
    DATABASE_URL: sentinelUrl,
    SUPABASE_URL: server.url.replace(/^postgresql:/, "http:"),
    SUPABASE_ANON_KEY: "sentinel-anon-key",
    SUPABASE_SERVICE_ROLE_KEY: "sentinel-service-role-key",
  };

  // A whole test file that plants faults (every fault of the catalog, and constraints_dropped through
  // `npm run race`), run with the sentinel in its environment and nothing to stop it but the code.
  // (Without NODE_TEST_CONTEXT, which would make the child think it is nested in this run and skip it.)
  const { NODE_TEST_CONTEXT: _nested, ...inherited } = process.env;
  const planted = await runTestFile("test/faults-catalog.test.ts", "swaps a piece in place|constraints_dropped", {
    ...inherited,
    ...pointed,
  });
  assert.equal(planted.code, 0, planted.output);
  assert.match(planted.output, /# pass [1-9]/);
  assert.match(planted.output, /# fail 0/);

  // In this process too: what every test starts from.
  Object.assign(process.env, pointed);
  try {
    const target = await startTestTarget();
    try {
      assert.notEqual(new URL(target.databaseUrl).pathname, "/sentinel");
      assert.equal(target.databaseExternal, false, "the test target started its own PostgreSQL");
      assert.equal((await fetch(`${target.url}/health`)).status, 200);
    } finally {
      await target.stop();
    }
    const lab = await startLabServer();
    try {
      assert.equal(lab.db.external, false);
      await applyFault(await lab.scratch("isolation_scratch"), "constraints_dropped");
    } finally {
      await lab.db.stop();
    }
  } finally {
    for (const name of Object.keys(pointed)) delete process.env[name];
  }

  assert.equal(await sentinelSessions(), sessions, "no session was ever opened to the sentinel");
  assert.deepEqual(await sentinelFingerprint(), fingerprint);
  // The counter does count: the fingerprint read just now is one session.
  await waitFor("the sentinel's session count to move", async () => ((await sentinelSessions()) === sessions + 1 ? true : undefined));
});
