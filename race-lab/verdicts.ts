// The race lab's verdict in the Liventix Advanced Load Testing Guide's terms: one row per check, ✅ or 🔴, each with what
// was observed. Race-lab checks come first, then every database invariant (lib/invariants.ts).
import type { InvariantRow } from "../lib/invariants.ts";
import { conflictRate, type PgbenchReport } from "./pgbench-report.ts";
import type { SaleTally } from "./sale-checks.ts";

const LATENCY_LIMIT_MS = 2000;
const CONFLICT_RATE_LIMIT = 0.05;

/** Names of the race lab's own checks; the fault catalog refers to them (and to invariant names). */
export const LAB_CHECKS = {
  reservations_within_inventory: "successful reservations <= tickets available (counted from holds, per tier and event cap)",
  no_unretried_conflicts: "no deadlock (40P01) or serialization failure (40001) left unretried after --max-tries",
  no_aborted_clients: "no pgbench client aborted by a non-retryable SQL error (a constraint fired, a function raised)",
  latency_under_2000ms: `average transaction latency < ${LATENCY_LIMIT_MS} ms`,
  conflict_rate_under_5pct: "40001/40P01 met by under 5 % of attempts (retries included)",
  no_double_checkout: "every order owns at least one hold (a hold checked out twice leaves an empty, payable order)",
} as const;

export type LabCheckName = keyof typeof LAB_CHECKS;

export interface Verdict {
  name: string;
  source: "race-lab" | "invariant";
  passed: boolean;
  observed: string;
  detail: string;
}

/** A rate as the lab prints it: "12.34 %". */
export const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

export function labVerdicts(report: PgbenchReport, sale: SaleTally): Verdict[] {
  const rate = conflictRate(report);
  const v = (name: LabCheckName, passed: boolean, observed: string, detail: string = LAB_CHECKS[name]): Verdict => ({
    name,
    source: "race-lab",
    passed,
    observed,
    detail,
  });
  const aborts = report.abortErrors.map((e) => `${e.clients}x ${e.message}`).join("; ");
  const latency = report.latencyAverageMs;
  return [
    v(
      "reservations_within_inventory",
      sale.overfilled.length === 0,
      `${sale.seatsTaken} of ${sale.ticketsAvailable} seats taken`,
      sale.overfilled.length ? `OVERSOLD ${sale.overfilled.join("; ")}` : LAB_CHECKS.reservations_within_inventory,
    ),
    v(
      "no_unretried_conflicts",
      report.failed === 0,
      `${report.serializationFailures} serialization, ${report.deadlockFailures} deadlock failures after ${report.maxTries ?? "?"} tries`,
    ),
    v(
      "no_aborted_clients",
      report.abortedClients === 0 && !report.runAborted,
      `${report.abortedClients} clients aborted`,
      aborts || LAB_CHECKS.no_aborted_clients,
    ),
    v(
      "latency_under_2000ms",
      latency !== null && latency < LATENCY_LIMIT_MS,
      latency === null ? "no latency measured" : `avg ${latency} ms, stddev ${report.latencyStddevMs ?? "?"} ms`,
    ),
    v(
      "conflict_rate_under_5pct",
      rate < CONFLICT_RATE_LIMIT,
      `${pct(rate)} (${report.totalRetries} retries, ${report.failed} failed)`,
      rate < CONFLICT_RATE_LIMIT
        ? LAB_CHECKS.conflict_rate_under_5pct
        : "one hot tier row under SERIALIZABLE cannot reach the guide's 5 %: retry in the client, spread load over tiers, or use READ COMMITTED with guarded UPDATEs",
    ),
    v("no_double_checkout", sale.ordersWithoutHolds === 0, `${sale.ordersWithoutHolds} orders without holds`),
  ];
}

export function invariantVerdicts(rows: InvariantRow[]): Verdict[] {
  return rows.map((r) => ({ name: r.check_name, source: "invariant", passed: r.passed, observed: r.observed, detail: r.detail }));
}
