// teardown(): the run's verdict on correctness. Reads load_test_invariants and load_test_capacity (read-only
// and idempotent: k6-operator runs teardown on every runner pod), adds the suite's capacity checks, and
// records everything as metrics so thresholds (count==0) fail the run and handleSummary can print it:
// invariant_violations{check}, oversell_detected{check}, invariants_checked, capacity_<field>.
// For the abandonment scenario it first waits, polling with a deadline, for expired holds to be released.
import { check, sleep } from "k6";
import { Counter, Gauge } from "k6/metrics";
import { BUNDLES, isOversellCheck, SCENARIOS, type BundleName } from "../bundles.ts";
import type { LoadConfig } from "../config.ts";
import { INVARIANT_NAMES, type InvariantRow } from "../invariants.ts";
import { CAPACITY_FIELDS, capacityMetric, type Capacity, type CapacityField } from "../metric-names.ts";
import { configSecrets, redactText } from "../redact.ts";
import { rowsToOutcomes } from "../summary-model.ts";
import { renderCapacitySection, renderInvariantSection } from "../summary-text.ts";
import { abandonedReleasedCheck, capacityChecks, overdueHoldsWarning } from "../teardown-checks.ts";
import type { InvariantSession, InvariantSource } from "./invariant-source.ts";
import * as m from "./metrics.ts";
import type { SetupData } from "./setup.ts";

const POLL_SECONDS = 2;

// Only the instance that runs teardown loads this module, so only it declares these.
const oversellDetected = new Counter("oversell_detected");
const invariantsChecked = new Gauge("invariants_checked");
const capacityGauges = Object.fromEntries(CAPACITY_FIELDS.map((f) => [f, new Gauge(capacityMetric(f))])) as Record<CapacityField, Gauge>;

function released(c: Capacity | null): boolean {
  return c !== null && (c.reserved ?? 0) === 0 && (c.holds_active ?? 0) === 0;
}

function awaitRelease(session: InvariantSession, eventId: string, deadlineMs: number): Capacity | null {
  let capacity = session.capacity(eventId);
  while (!released(capacity) && Date.now() < deadlineMs) {
    sleep(POLL_SECONDS);
    capacity = session.capacity(eventId);
  }
  return capacity;
}

function unreadable(name: string, why: string): InvariantRow {
  return { check_name: name, passed: false, observed: "unreadable", detail: why };
}

export function teardownRun(cfg: LoadConfig, bundle: BundleName, data: SetupData | undefined, source: InvariantSource): void {
  if (!data?.eventId) {
    // setup() aborted: nothing ran, and an unreadable verdict must still fail the run.
    m.invariantViolations.add(1, { check: "invariants_readable" });
    return;
  }
  const scenario = SCENARIOS[BUNDLES[bundle].scenario];
  const session = source(cfg);
  try {
    const holdSeconds = data.holdSeconds ?? cfg.holdSeconds ?? scenario.event.holdSeconds;
    const capacity = scenario.awaitRelease
      ? awaitRelease(session, data.eventId, Date.now() + (holdSeconds + cfg.abandonGraceSeconds) * 1000)
      : session.capacity(data.eventId);
    const sqlRows = session.invariants(data.eventId);
    const why = session.problem() ?? "no answer";
    // Every run records at least this check, so `checks` thresholds judge a run whose VUs made none
    // (k6 counts an empty rate as 0) by the verdict that matters.
    check(null, { "teardown: the database's verdict was read": () => sqlRows !== null && capacity !== null });

    const rows: InvariantRow[] = [...(sqlRows ?? [unreadable("invariants_readable", why)])];
    rows.push(...(capacity ? capacityChecks(capacity) : [unreadable("capacity_readable", why)]));
    if (scenario.checks.includes("abandoned_holds_released") && capacity) rows.push(abandonedReleasedCheck(capacity));

    for (const row of rows) {
      m.invariantViolations.add(row.passed ? 0 : 1, { check: row.check_name });
      if (!row.passed && isOversellCheck(row.check_name)) oversellDetected.add(1, { check: row.check_name });
    }
    if (sqlRows) invariantsChecked.add(rows.length);
    if (capacity) for (const field of CAPACITY_FIELDS) if (capacity[field] !== undefined) capacityGauges[field].add(capacity[field]!);

    // A database whose functions predate lib/invariants.ts silently checks less: say so.
    const missing = sqlRows ? INVARIANT_NAMES.filter((name) => !sqlRows.some((r) => r.check_name === name)) : [];
    const overdue = overdueHoldsWarning(capacity);
    const lines = [
      `teardown: event ${data.eventId} checked via ${session.via}`,
      ...renderInvariantSection(rowsToOutcomes(rows)),
      ...(missing.length ? [`  (not reported by the database: ${missing.join(", ")})`] : []),
      ...renderCapacitySection(capacity),
      ...(overdue ? [overdue] : []),
    ];
    console.log(redactText(lines.join("\n"), configSecrets(cfg)));
  } finally {
    session.close();
  }
}
