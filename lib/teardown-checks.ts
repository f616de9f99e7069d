// The suite's own end-of-run checks, computed from load_test_capacity so that an oversell is caught even
// where the database lost its CHECK constraints or its counters: VU-side counters are per VU in k6 and
// cannot be summed, but the holds table is the truth. Shared by the k6 teardown and `npm run verify`.
// Pure module: no k6 import.
import type { InvariantRow } from "./invariants.ts";
import { isObject, parseJsonOrNull } from "./json.ts";
import { CAPACITY_FIELDS, type Capacity } from "./metric-names.ts";

/** Numbers from a load_test_capacity answer (REST gives numbers, SQL text may give numeric strings). */
export function parseCapacity(raw: unknown): Capacity | null {
  const value = typeof raw === "string" ? parseJsonOrNull(raw) : raw;
  if (!isObject(value)) return null;
  const capacity: Capacity = {};
  for (const field of CAPACITY_FIELDS) {
    const v = value[field];
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    if (Number.isFinite(n)) capacity[field] = n;
  }
  return capacity.total_tickets === undefined ? null : capacity;
}

/** Rows of load_test_invariants, whatever the transport made of the columns (booleans as "t"/"true", text as bytes). */
export function parseInvariantRows(raw: unknown): InvariantRow[] | null {
  if (!Array.isArray(raw)) return null;
  const text = (v: unknown) =>
    v === null || v === undefined ? "" : Array.isArray(v) ? String.fromCharCode(...(v as number[])) : String(v);
  return raw.map((r: Record<string, unknown>) => ({
    check_name: text(r.check_name),
    passed: r.passed === true || r.passed === "t" || r.passed === "true",
    observed: text(r.observed),
    detail: text(r.detail),
  }));
}

export function capacityChecks(c: Capacity): InvariantRow[] {
  const total = c.total_tickets ?? 0;
  const promised = (c.sold ?? 0) + (c.reserved ?? 0);
  const holds = (c.holds_active ?? 0) + (c.holds_converted ?? 0);
  return [
    {
      check_name: "counters_within_capacity",
      passed: promised <= total,
      observed: `sold ${c.sold ?? 0} + reserved ${c.reserved ?? 0} = ${promised} of ${total}`,
      detail: promised <= total ? "within capacity" : `oversold by ${promised - total}`,
    },
    {
      // Every live hold is at least one seat, so more live holds than seats is an oversell whatever the counters say.
      check_name: "holds_within_capacity",
      passed: holds <= total,
      observed: `active ${c.holds_active ?? 0} + converted ${c.holds_converted ?? 0} holds = ${holds} of ${total} seats`,
      detail: holds <= total ? "within capacity" : `at least ${holds - total} seats promised twice`,
    },
  ];
}

/** After every abandoned hold's lifetime, nothing may stay reserved. */
export function abandonedReleasedCheck(c: Capacity): InvariantRow {
  const released = (c.reserved ?? 0) === 0 && (c.holds_active ?? 0) === 0;
  return {
    check_name: "abandoned_holds_released",
    passed: released,
    observed: `reserved ${c.reserved ?? 0}, active holds ${c.holds_active ?? 0}, expired ${c.holds_expired ?? 0}`,
    detail: released
      ? "every expired hold gave its seats back"
      : "seats still held after the holds expired: cleanup is not running or not releasing",
  };
}

/**
 * Holds of any event left active long after their expiry: not this run's verdict (its own event is judged
 * by no_stale_active_holds), but a cleanup that stopped anywhere in the project leaks seats everywhere.
 */
export function overdueHoldsWarning(c: Capacity | null): string | null {
  const overdue = c?.project_overdue_holds ?? 0;
  if (overdue <= 0) return null;
  return (
    `WARNING: ${overdue} active hold(s) across the project are more than 120 s past their expiry: the hold cleanup ` +
    "is failing or not running (npm run readiness and npm run db-stats show why)"
  );
}
