// The race lab judges runs only from pgbench's own report, so the parser is pinned to real pgbench 15
// output: the two sample reports recorded in the team's pgbench notes, plus stderr aborts and progress.
import assert from "node:assert/strict";
import { test } from "node:test";
import { conflictRate, parsePgbenchReport, parseProgress } from "../race-lab/pgbench-report.ts";

const READ_COMMITTED = `transaction type: reserve.sql
number of clients: 50
number of threads: 2
maximum number of tries: 3
duration: 5 s
number of transactions actually processed: 76537
number of failed transactions: 0 (0.000%)
number of serialization failures: 0 (0.000%)
number of deadlock failures: 0 (0.000%)
number of transactions retried: 0 (0.000%)
total number of retries: 0
latency average = 2.288 ms
latency stddev = 12.012 ms
initial connection time = 534.552 ms
tps = 17111.882202 (without initial connection time)
statement latencies in milliseconds, failures and retries:
         0.000           0           0  \\set q random(1,4)
         2.289           0           0  select reserve(...);
`;

const SERIALIZABLE = `number of transactions actually processed: 1428
number of failed transactions: 2607 (64.610%)
number of serialization failures: 2607 (64.610%)
number of deadlock failures: 0 (0.000%)
number of transactions retried: 3557 (88.154%)
total number of retries: 12684
latency average = 23.855 ms (including failures)
tps = 296.716915 (without initial connection time)
`;

test("parses the READ COMMITTED sample report", () => {
  const r = parsePgbenchReport(READ_COMMITTED);
  assert.equal(r.transactionType, "reserve.sql");
  assert.equal(r.clients, 50);
  assert.equal(r.threads, 2);
  assert.equal(r.maxTries, 3);
  assert.equal(r.durationSeconds, 5);
  assert.equal(r.processed, 76537);
  assert.equal(r.failed, 0);
  assert.equal(r.latencyAverageMs, 2.288);
  assert.equal(r.latencyStddevMs, 12.012);
  assert.equal(r.latencyIncludesFailures, false);
  assert.equal(r.initialConnectionMs, 534.552);
  assert.equal(r.tps, 17111.882202);
  assert.deepEqual(r.statements, [
    { latencyMs: 0, failures: 0, retries: 0, command: "\\set q random(1,4)" },
    { latencyMs: 2.289, failures: 0, retries: 0, command: "select reserve(...);" },
  ]);
  assert.equal(r.runAborted, false);
  assert.equal(r.abortedClients, 0);
  assert.equal(conflictRate(r), 0);
});

test("parses the SERIALIZABLE sample report with failures and retries", () => {
  const r = parsePgbenchReport(SERIALIZABLE);
  assert.equal(r.processed, 1428);
  assert.equal(r.failed, 2607);
  assert.equal(r.serializationFailures, 2607);
  assert.equal(r.deadlockFailures, 0);
  assert.equal(r.retriedTransactions, 3557);
  assert.equal(r.totalRetries, 12684);
  assert.equal(r.latencyAverageMs, 23.855);
  assert.equal(r.latencyIncludesFailures, true);
  assert.equal(r.latencyStddevMs, null);
  assert.equal(r.tps, 296.716915);
  // (12684 retries + 2607 final failures) / (1428 + 2607 + 12684 attempts)
  assert.ok(Math.abs(conflictRate(r) - 15291 / 16719) < 1e-9);
});

test("reads aborted clients and their errors from stderr, grouped by message", () => {
  const stderr = [
    'pgbench: error: client 3 script 0 aborted in command 1 query 0: ERROR:  new row for relation "ticket_tiers" violates check constraint "check_reserved_lte_total"',
    "DETAIL:  Failing row contains (...).",
    'pgbench: error: client 1 script 0 aborted in command 1 query 0: ERROR:  new row for relation "ticket_tiers" violates check constraint "check_reserved_lte_total"',
    "pgbench: error: client 0 script 0 aborted in command 4 query 0: ERROR:  division by zero",
    "pgbench: error: Run was aborted; the above results are incomplete.",
  ].join("\n");
  const r = parsePgbenchReport(READ_COMMITTED, stderr);
  assert.equal(r.runAborted, true);
  assert.equal(r.abortedClients, 3);
  assert.deepEqual(r.abortErrors, [
    { message: 'new row for relation "ticket_tiers" violates check constraint "check_reserved_lte_total"', clients: 2 },
    { message: "division by zero", clients: 1 },
  ]);
});

test("reads -P progress lines with and without failure columns", () => {
  const samples = parseProgress(
    [
      "progress: 1.0 s, 174.6 tps, lat 31.407 ms stddev 40.800, 162 failed, 287 retried, 945 retries",
      "progress: 2.0 s, 5821.5 tps, lat 10.563 ms stddev 48.582, 0 failed",
      "progress: 3.0 s, 0.0 tps, lat 0.000 ms stddev NaN",
      "some other line",
    ].join("\n"),
  );
  assert.equal(samples.length, 3);
  assert.deepEqual(samples[0], { atSeconds: 1, tps: 174.6, latencyMs: 31.407, stddevMs: 40.8, failed: 162, retried: 287, retries: 945 });
  assert.equal(samples[1]!.failed, 0);
  assert.equal(samples[2]!.stddevMs, 0);
});

test("reads the two-column statement table (no --max-tries)", () => {
  const r = parsePgbenchReport(`statement latencies in milliseconds and failures:
         0.003           0  \\set roll random(1, 100)
         7.291           2  SELECT 1;
`);
  assert.deepEqual(r.statements, [
    { latencyMs: 0.003, failures: 0, retries: 0, command: "\\set roll random(1, 100)" },
    { latencyMs: 7.291, failures: 2, retries: 0, command: "SELECT 1;" },
  ]);
});
