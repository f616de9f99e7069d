// `npm run race` as users call it: bad flags are named (exit 2), a missing pgbench gives the install hint
// (exit 69, no stack trace), and live short runs produce the verdict table, the JSON file and an exit
// code that matches the verdicts, on the private embedded database and on DATABASE_URL.
import assert from "node:assert/strict";
import { readFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseRaceOptions } from "../cli/race-options.ts";
import { effectiveThreads } from "../race-lab/workload.ts";
import { UsageError } from "../cli/cli-kit.ts";
import { EXIT } from "../cli/exit-codes.ts";
import type { CompareResult } from "../race-lab/race-compare.ts";
import type { RaceLabResult } from "../race-lab/race-lab.ts";
import { runCli, startLabServer, type LabServer } from "./support/race-lab.ts";

let server: LabServer;
let dir: string;
before(async () => {
  server = await startLabServer();
  dir = await mkdtemp(path.join(tmpdir(), "race-cli-"));
});
after(async () => {
  await server?.db.stop();
});

test("defaults are the guide's: 50 clients, 10 threads, 30 s, reserve, READ COMMITTED, 10 tickets", () => {
  const o = parseRaceOptions([]);
  assert.deepEqual(
    [o.workload.clients, o.workload.threads, o.workload.durationSeconds, o.workload.script, o.workload.isolation, o.workload.tickets],
    [50, 10, 30, "reserve", "read_committed", 10],
  );
  assert.equal(effectiveThreads(10, 50, 2), 2, "threads are capped to the cores");
  assert.equal(effectiveThreads(10, 1, 8), 1, "and to the clients");
  assert.equal(parseRaceOptions(["--isolation", "serializable"]).workload.script, "serializable");
  assert.equal(parseRaceOptions(["--script", "serializable"]).workload.isolation, "serializable");
});

test("bad flags name the flag and the fix", () => {
  const cases: [string[], RegExp][] = [
    [["--clients", "abc"], /--clients must be a whole number from 1 to 1000, got "abc"/],
    [["--duration", "0"], /--duration must be from 1 to 3600, got 0/],
    [["--script", "nope"], /--script must be one of reserve, serializable, mix/],
    [["--isolation", "snapshot"], /--isolation must be one of read_committed, repeatable_read, serializable/],
    [["--script", "serializable", "--isolation", "read_committed"], /--script serializable always runs SERIALIZABLE/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["--i-know-this-is-scratch"], /only goes with --fault/],
    [["--buckets", "5000"], /--buckets must be from 1 to 4096, got 5000/],
    [["--compare", "--buckets", "1"], /--compare needs --buckets 2 or more/],
    [["--buckets", "8", "--capacity", "10"], /--buckets needs no --capacity: an event cap serialises/],
    [["--compare", "--fault", "lost_update"], /--compare runs the reference designs/],
  ];
  for (const [argv, message] of cases)
    assert.throws(
      () => parseRaceOptions(argv),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
});

test("the CLI exits 2 on bad flags or an unknown fault, and 77 on a fault aimed at DATABASE_URL without consent", async () => {
  const bad = await runCli("race", ["--tickets", "-5"]);
  assert.equal(bad.code, EXIT.USAGE);
  assert.match(bad.stderr, /--tickets/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, "no stack trace");

  const unknown = await runCli("race", ["--fault", "nope"]);
  assert.equal(unknown.code, EXIT.USAGE);
  assert.match(unknown.stderr, /--fault must be one of check_then_act, /);

  const refused = await runCli("race", ["--fault", "lost_update"], { DATABASE_URL: server.db.url });
  assert.equal(refused.code, EXIT.REFUSED);
  assert.match(refused.stderr, /--i-know-this-is-scratch/);
  assert.doesNotMatch(refused.stderr, /postgres:postgres@/, "no password in messages");
});

test("a missing pgbench gives the install hint and exit 69", async () => {
  const r = await runCli("race", ["--duration", "1"], { PGBENCH: "/nonexistent/pgbench" });
  assert.equal(r.code, EXIT.MISSING_TOOL);
  assert.match(r.stderr, /apt-get install -y postgresql-client/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("a database without the suite's functions exits 78, one that does not answer 75, each with the fix", async () => {
  // The lab server's own database is never migrated (the tests work on clones of a migrated template).
  const bare = await runCli("race", ["--duration", "1"], { DATABASE_URL: server.db.url });
  assert.equal(bare.code, EXIT.NOT_SET_UP, bare.stderr);
  assert.match(bare.stderr, /lacks load_test_setup.*apply supabase\/migrations/);

  const down = new URL(server.db.url);
  down.port = "1";
  const gone = await runCli("race", ["--duration", "1"], { DATABASE_URL: down.href });
  assert.equal(gone.code, EXIT.UNREACHABLE, gone.stderr);
  assert.match(gone.stderr, /cannot connect to the database/);
  assert.doesNotMatch(gone.stderr, /postgres:postgres@|\n\s+at /, "no password, no stack trace");
});

test("a short READ COMMITTED run on the private embedded database passes every verdict", async () => {
  const json = path.join(dir, "rc.json");
  const r = await runCli("race", ["--duration", "2", "--clients", "10", "--json", json]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /pgbench progress: /, "progress is shown live");
  assert.match(r.stdout, /✅\s+reservations_within_inventory/);
  assert.match(r.stdout, /✅ PASS/);
  const result = JSON.parse(await readFile(json, "utf8")) as RaceLabResult;
  assert.equal(result.passed, true);
  assert.equal(result.sale.seatsTaken, 10, "the 10 tickets sell out, no more");
  assert.ok(result.pgbench.processed > 0 && result.pgbench.tps! > 0);
  assert.ok(result.pgbench.statements.some((s) => s.command.startsWith("SELECT try_reserve")));
  assert.ok(
    result.observability.statements.rows.some((s) => /try_reserve/.test(s.query) && s.calls > 0),
    "pg_stat_statements captured",
  );
  assert.ok(result.observability.lockWaits.samples > 0, "lock waits sampled while pgbench ran");
  assert.deepEqual(result.observability.tables.map((t) => t.table).sort(), [
    "inventory_buckets",
    "orders",
    "ticket_holds",
    "ticket_tiers",
    "tickets",
  ]);
});

test("SERIALIZABLE on one hot tier reports its 40001 rate and retries, and the exit code follows the verdicts", async () => {
  const json = path.join(dir, "ser.json");
  const url = await server.scratch("race_cli_serializable");
  const r = await runCli(
    "race",
    ["--isolation", "serializable", "--tickets", "100000", "--duration", "2", "--clients", "10", "--json", json],
    {
      DATABASE_URL: url,
    },
  );
  const result = JSON.parse(await readFile(json, "utf8")) as RaceLabResult;
  assert.equal(result.workload.script, "serializable");
  assert.ok(result.pgbench.totalRetries > 0, "conflicts on the hot row were retried");
  assert.ok(result.conflictRate > 0);
  assert.match(r.stdout, /40001\/40P01 rate\s+\d+\.\d\d %/);
  const rate = result.verdicts.find((v) => v.name === "conflict_rate_under_5pct")!;
  assert.equal(rate.passed, result.conflictRate < 0.05);
  assert.equal(r.code, result.passed ? 0 : 1);
  for (const v of result.verdicts.filter((x) => x.source === "invariant")) assert.ok(v.passed, `${v.name}: ${v.observed}`);
});

test("--compare runs the single row and buckets on the same workload and prints one table; exit 0 when both are safe", async () => {
  const json = path.join(dir, "compare.json");
  const url = await server.scratch("race_cli_compare");
  const r = await runCli(
    "race",
    ["--compare", "--tickets", "200", "--buckets", "8", "--duration", "2", "--clients", "10", "--json", json],
    {
      DATABASE_URL: url,
    },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /guide: single row\s+buckets \(8 per tier\)/);
  for (const row of [
    "tps",
    "latency p50 / p99 ms",
    "40001/40P01 rate before retries",
    "failed after retries",
    "seats sold / available",
    "invariants",
  ]) {
    assert.match(r.stdout, new RegExp(`^${row.replace(/[()/]/g, "\\$&")}\\s{2,}\\S`, "m"), row);
  }
  assert.match(r.stdout, /buckets \/ single row tps: \d+\.\d\dx \(goal under READ COMMITTED: >= 2x, (met|NOT met)\)/);
  const result = JSON.parse(await readFile(json, "utf8")) as CompareResult;
  assert.deepEqual([result.singleRow.event.buckets_per_tier, result.buckets.event.buckets_per_tier], [1, 8]);
  for (const run of [result.singleRow, result.buckets]) {
    assert.equal(run.workload.clients, 10);
    assert.ok(run.sale.seatsTaken <= 200 && run.pgbench.processed > 0);
    assert.ok(
      run.latency !== null && run.latency.p50Ms !== null && run.latency.p99Ms! >= run.latency.p50Ms,
      "percentiles from the transaction log",
    );
    for (const v of run.verdicts.filter((x) => x.source === "invariant")) assert.ok(v.passed, `${v.name}: ${v.observed}`);
  }
});

test("the mix script runs reserve, checkout, payment and cleanup without a false alarm", async () => {
  const json = path.join(dir, "mix.json");
  const url = await server.scratch("race_cli_mix");
  const r = await runCli("race", ["--script", "mix", "--duration", "2", "--clients", "10", "--json", json], { DATABASE_URL: url });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const result = JSON.parse(await readFile(json, "utf8")) as RaceLabResult;
  assert.ok(result.sale.ordersPaid > 0 && result.sale.ticketsIssued === result.sale.ordersPaid, "orders were paid and ticketed");
});

test("npm run db-stats reads pg_stat_statements, lock waits and table statistics; --reset clears", async () => {
  const url = await server.scratch("race_cli_db_stats");
  const json = path.join(dir, "stats.json");
  const reset = await runCli("db-stats", ["--reset"], { DATABASE_URL: url });
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /pg_stat_statements reset/);
  const r = await runCli("db-stats", ["--seconds", "1", "--json", json], { DATABASE_URL: url });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /lock waits \(pg_stat_activity\)/);
  const stats = JSON.parse(await readFile(json, "utf8")) as { lockWaits: { samples: number }; tables: { table: string }[] };
  assert.ok(stats.lockWaits.samples > 0);
  assert.equal(stats.tables.length, 5);
  const bad = await runCli("db-stats", ["--seconds", "x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--seconds must be a whole number/);
});
