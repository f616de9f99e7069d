// How a cleanup job's recorded runs are judged (readiness and the target's watch agree), and how the
// target's cleanup report turns ticks into warnings: once per failure episode, once per repaired tier.
// Pure functions over the shapes the database returns; the real runs are in hold-expiry(-cron).test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HoldExpiryState } from "../race-lab/hold-expiry.ts";
import { cleanupRunsItem } from "../race-lab/readiness.ts";
import { createCleanupReporter } from "../backend/cleanup-report.ts";
import { cleanupJobProblem, cronIntervalSeconds, type CronJob, type CronRun, type Repair } from "../backend/hold-expiry-sql.ts";

const JOB: CronJob = { jobid: 7, jobname: "liventix-cleanup-expired-holds", schedule: "* * * * *", active: true };

function run(status: string, ageSeconds: number, message = ""): CronRun {
  const start = new Date(Date.UTC(2026, 0, 1) - ageSeconds * 1000);
  return { runid: 1, status, message, detail: message ? "Failing row contains (...)." : "", start, end: start, ageSeconds };
}

function state(runs: CronRun[], logRun = true): HoldExpiryState {
  return {
    migrated: true,
    cron: { job: JOB, runs, logRun, databaseName: "postgres" },
    intervalSeconds: 60,
    graceSeconds: 180,
    overdue: { holds: 0, seats: 0, oldestSeconds: null, tiers: [] },
    repairs: { count: 0, latest: [] },
  };
}

test("the interval of a cron schedule: minutes, steps, seconds; anything else is judged hourly", () => {
  assert.deepEqual(
    ["* * * * *", "*/5 * * * *", "17 * * * *", "30 seconds", "1 second", "0 3 * * 6", "nonsense"].map(cronIntervalSeconds),
    [60, 300, 3600, 30, 1, 3600, 3600],
  );
});

test("the job's latest runs: a failure (stable cause, detail aside), a stall, an inactive job, nothing yet, fine", () => {
  const error = 'new row for relation "ticket_tiers" violates check constraint "check_no_negative_availability"';
  assert.deepEqual(cleanupJobProblem(JOB, [run("failed", 5, error)]), { cause: error, text: `${error}; Failing row contains (...).` });
  assert.match(
    cleanupJobProblem(JOB, [run("succeeded", 181)])!.cause,
    /^no run since .* although it is scheduled "\* \* \* \* \*": pg_cron only runs jobs of the database named by cron.database_name/,
  );
  assert.equal(cleanupJobProblem(JOB, [run("succeeded", 179)]), null);
  assert.equal(cleanupJobProblem(JOB, [run("running", 1)]), undefined, "a run still going decides nothing");
  assert.equal(cleanupJobProblem(JOB, []), undefined);
  assert.match(cleanupJobProblem({ ...JOB, active: false }, [run("succeeded", 1)])!.cause, /^the pg_cron job 7 is inactive/);
});

test("readiness of the job's runs: ✅ recent success, ⚠️ one failure after a recent success, ❌ no success within 3 intervals, stalled or never run", () => {
  const judge = (runs: CronRun[], logRun = true) => {
    const item = cleanupRunsItem(state(runs, logRun))!;
    return [item.status, item.observed];
  };
  assert.deepEqual(judge([run("succeeded", 20)]), ["pass", "last run succeeded 20 s ago"]);
  assert.deepEqual(judge([run("failed", 20, "boom"), run("succeeded", 80)]), [
    "warn",
    `latest run (${run("x", 20).start!.toISOString()}) failed: boom; last success 80 s ago`,
  ]);
  assert.match(judge([run("failed", 20, "boom"), run("succeeded", 200)])[1]!, /failed: boom; last success 200 s ago \(limit 3 min\)$/);
  assert.equal(judge([run("failed", 20, "boom"), run("succeeded", 200)])[0], "fail");
  assert.deepEqual(judge([run("failed", 20, "boom")]), [
    "fail",
    `latest run (${run("x", 20).start!.toISOString()}) failed: boom; no success in the last 1 runs (limit 3 min)`,
  ]);
  assert.deepEqual(judge([run("succeeded", 600)]), ["fail", "no run for 10 min although it runs every 1 min"]);
  assert.deepEqual(judge([]), ["fail", "no finished run recorded"]);
  assert.equal(judge([], false)[0], "warn", "cron.log_run off: nothing to judge by");
  assert.equal(cleanupRunsItem({ ...state([]), cron: null }), null, "no pg_cron: another item says what runs the cleanup");
});

const repair = (tierId: string): Repair => ({
  id: 1,
  repairedAt: new Date(0),
  tierId,
  eventId: "e",
  total: 10,
  sold: 0,
  reservedBefore: 0,
  expiredQuantity: 1,
  activeHoldQuantity: 0,
  reservedAfter: 0,
  repairedBy: "pg_cron",
});

test("the cleanup report: a failure once per episode and its end, a repaired tier once however often it recurs", () => {
  const lines: string[] = [];
  const report = createCleanupReporter((l) => lines.push(l), "hold cleanup");
  const fail = (detail: string) => ({ cause: "check violated (SQLSTATE 23514)", text: `check violated (SQLSTATE 23514); ${detail}` });
  report.record({ failure: null, repairs: [] });
  assert.equal(report.isNewFailure(fail("row at 12:00")), true);
  report.record({ failure: fail("row at 12:00"), repairs: [] });
  assert.equal(report.isNewFailure(fail("row at 12:01")), false, "the same cause, other detail");
  report.record({ failure: fail("row at 12:01"), repairs: [] });
  report.record({ failure: undefined, repairs: [] });
  report.record({ failure: { cause: "connection refused", text: "connection refused" }, repairs: [] });
  report.record({ failure: null, repairs: [repair("t1"), repair("t2")] });
  report.record({ failure: null, repairs: [repair("t1")] });
  report.record({ failure: null, repairs: [repair("t1"), repair("t3")] });
  assert.deepEqual(
    lines.map((l) => l.slice(0, 80)),
    [
      "warning: hold cleanup failed: check violated (SQLSTATE 23514); row at 12:00. Expired holds keep ",
      "warning: hold cleanup failed: connection refused. Expired holds keep their seats until it succeeds a",
      "hold cleanup succeeds again (it had failed: connection refused)",
      "warning: hold cleanup repaired 2 tier(s) whose reserved_quantity had drifted below their holds (eve",
      "warning: hold cleanup repaired 1 tier(s) whose reserved_quantity had drifted below their holds (eve",
    ].map((l) => l.slice(0, 80)),
  );
  assert.match(
    lines[4]!,
    /: tier t3 \(event e, total 10, sold 0\): reserved 0 but 1 seats expiring, 0 seats still held -> reserved 0 \(by pg_cron\)$/,
  );
});
