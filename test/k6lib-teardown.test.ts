// The suite's own end-of-run checks: capacity answers parsed from REST or SQL (where the driver may hand
// text back as bytes), oversell caught from the holds even when the counters look fine, and abandoned
// holds proven released.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isOversellCheck, teardownChecks } from "../lib/bundles.ts";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import { sqlDriverUrl } from "../lib/pg-url.ts";
import { abandonedReleasedCheck, capacityChecks, overdueHoldsWarning, parseCapacity, parseInvariantRows } from "../lib/teardown-checks.ts";

test("capacity from a jsonb object or its text, numeric strings included", () => {
  const c = parseCapacity('{"total_tickets": 10, "sold": "4", "reserved": 1, "inventory_utilisation": 0.5, "unknown": 3}');
  assert.deepEqual(c, { total_tickets: 10, sold: 4, reserved: 1, inventory_utilisation: 0.5 });
  assert.equal(parseCapacity({ sold: 1 }), null, "no total: not a capacity answer");
  assert.equal(parseCapacity("not json"), null);
  assert.equal(parseCapacity(null), null);
});

test("invariant rows: booleans and byte-array text normalised", () => {
  const bytes = (s: string) => Array.from(Buffer.from(s));
  const rows = parseInvariantRows([
    { check_name: "sold_lte_total", passed: true, observed: "0 tiers", detail: "ok" },
    { check_name: bytes("reserved_lte_total"), passed: "f", observed: bytes("1 tier"), detail: null },
  ]);
  assert.deepEqual(rows, [
    { check_name: "sold_lte_total", passed: true, observed: "0 tiers", detail: "ok" },
    { check_name: "reserved_lte_total", passed: false, observed: "1 tier", detail: "" },
  ]);
  assert.equal(parseInvariantRows({ error: "x" }), null);
});

test("capacity checks: counters and, independently, the holds", () => {
  const fine = capacityChecks({ total_tickets: 10, sold: 6, reserved: 4, holds_active: 4, holds_converted: 6 });
  assert.deepEqual(
    fine.map((r) => r.passed),
    [true, true],
  );
  // Counters say 10 of 10, but 12 live holds exist: a lost update hid two oversold seats.
  const lying = capacityChecks({ total_tickets: 10, sold: 6, reserved: 4, holds_active: 5, holds_converted: 7 });
  assert.deepEqual(
    lying.map((r) => [r.check_name, r.passed]),
    [
      ["counters_within_capacity", true],
      ["holds_within_capacity", false],
    ],
  );
  assert.match(lying[1]!.detail, /at least 2 seats promised twice/);
  const over = capacityChecks({ total_tickets: 10, sold: 11, reserved: 0 });
  assert.match(over[0]!.detail, /oversold by 1/);
  assert.ok(isOversellCheck("holds_within_capacity") && isOversellCheck("sold_lte_total") && !isOversellCheck("no_duplicate_tickets"));
});

test("abandoned holds: released only when nothing stays reserved or active", () => {
  assert.equal(abandonedReleasedCheck({ total_tickets: 5, reserved: 0, holds_active: 0, holds_expired: 5 }).passed, true);
  assert.equal(abandonedReleasedCheck({ total_tickets: 5, reserved: 2, holds_active: 2, holds_expired: 3 }).passed, false);
});

test("holds overdue anywhere in the project: a warning with their count, nothing when there are none", () => {
  assert.match(
    overdueHoldsWarning({ total_tickets: 5, project_overdue_holds: 36717 })!,
    /^WARNING: 36717 active hold\(s\) across the project are more than 120 s past their expiry/,
  );
  assert.equal(overdueHoldsWarning({ total_tickets: 5, project_overdue_holds: 0 }), null);
  assert.equal(overdueHoldsWarning({ total_tickets: 5 }), null, "a database without the field (before the hold-expiry migration)");
  assert.equal(overdueHoldsWarning(null), null);
});

test("each bundle reports the SQL invariants first, then its own checks", () => {
  assert.deepEqual(teardownChecks("light").slice(0, INVARIANT_NAMES.length), INVARIANT_NAMES);
  assert.deepEqual(teardownChecks("light").slice(INVARIANT_NAMES.length), ["counters_within_capacity", "holds_within_capacity"]);
  assert.equal(teardownChecks("abandonment").at(-1), "abandoned_holds_released");
});

test("SQL teardown URL: loopback without TLS gets sslmode=disable, anything explicit or remote is kept", () => {
  assert.equal(
    sqlDriverUrl("postgresql://postgres:pw@127.0.0.1:5432/postgres"),
    "postgresql://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable",
  );
  assert.equal(
    sqlDriverUrl("postgresql://u@localhost/db?application_name=x"),
    "postgresql://u@localhost/db?application_name=x&sslmode=disable",
  );
  assert.equal(sqlDriverUrl("postgresql://u@127.0.0.1/db?sslmode=require"), "postgresql://u@127.0.0.1/db?sslmode=require");
  assert.equal(sqlDriverUrl("postgresql://u:pw@db.abcd.supabase.co:5432/postgres"), "postgresql://u:pw@db.abcd.supabase.co:5432/postgres");
});
