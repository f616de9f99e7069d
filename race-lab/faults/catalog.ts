// The catalog of planted bugs: broken variants of the reservation system, each a SQL file that swaps one
// piece of the reference implementation in a scratch database. It says which check must catch each one
// and the workload that exposes it, so the race lab (and the k6 harness, for the HTTP-reachable ones)
// can prove the suite finds real race conditions rather than passing everything.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { BundleName } from "../../lib/bundles.ts";
import type { InvariantName } from "../../lib/invariants.ts";
import type { LabCheckName } from "../verdicts.ts";
import { DEFAULT_WORKLOAD, type Workload } from "../workload.ts";

export const FAULTS_DIR = fileURLToPath(new URL("./", import.meta.url));

/**
 * The k6 run that exposes a fault over HTTP: the bundle, its -e variables and `k6 run --vus N
 * --duration D` (test/k6e2e-bundles.test.ts runs it in real time through the k6 test doubles).
 * `reached` says when a run has given the fault its chance: a summary metric (a counter's or trend's
 * count, a gauge's value) that must reach `atLeast`. A run that neither caught the fault nor reached it
 * proves nothing and the workload is driven again. `expect` is the metric key (with its tag) whose
 * threshold the deciding run must cross (exit 99).
 */
export interface K6Exposure {
  bundle: BundleName;
  env: Record<string, string>;
  vus: number;
  duration: string;
  reached: { metric: string; atLeast: number };
  expect: string;
}

export interface Fault {
  name: string;
  /** SQL file in race-lab/faults/, applied in one transaction. */
  file: string;
  summary: string;
  /** The piece of the reference implementation it swaps. */
  replaces: string;
  /** Another fault applied first (this one only removes a safety net). */
  buildsOn?: string;
  /** Checks that fail when the fault is present: invariant names or race-lab verdict names. */
  caughtBy: (InvariantName | LabCheckName)[];
  /** Reachable through the HTTP API (the k6 suite can expose it), not only by calling SQL directly. */
  httpReachable: boolean;
  /** The race-lab run that exposes it within a few seconds. */
  workload: Workload;
  /** The k6 run that exposes it; null when HTTP cannot reach it (the entry says why). */
  k6: K6Exposure | null;
}

// Buyer features that do not matter for a fault are off, so each run isolates what it proves.
const QUIET = { THINK_TIME: "0", DOUBLE_CLICK_RATIO: "0", SECOND_TAB_RATIO: "0", WEBHOOK_REDELIVERY_RATIO: "0", BOT_RATIO: "0" };
// A drop opening with scalper bots (2 VUs for 4 s): after a 1 s countdown each bot fires 6 sessions'
// reserves for one tier at the same instant (http.batch), again and again. Reserved seating, 20
// single-seat tiers, makes every tier's one seat a fresh race: separate buyers drift apart in the test
// runner (requests queue up on 2 cores) and a VU's first, cold burst lands spread out, so a single last
// seat is lost in about 1 run of 3, whereas 15 warm single-seat races catch it every time: a run has
// reached the fault once 15 tiers have been raced for (15 holds).
const race = (expect: string, env: Record<string, string> = {}, reached = { metric: "capacity_holds_total", atLeast: 15 }): K6Exposure => ({
  bundle: "race",
  env: { ...QUIET, PAY_RATIO: "0", SALE_OPENS_IN: "1", TIER_COUNT: "20", TICKETS_PER_TIER: "1", BOT_RATIO: "1", BOT_SESSIONS: "6", ...env },
  vus: 2,
  duration: "4s",
  reached,
  expect,
});

// Short runs that still leave the broken piece no place to hide: fewer clients than the Liventix Advanced Load Testing Guide's 50 keep
// 2-core machines responsive, the pg_sleep inside each broken function widens its race window.
const short = (w: Partial<Workload>): Workload => ({ ...DEFAULT_WORKLOAD, clients: 20, threads: 2, durationSeconds: 3, ...w });

export const FAULTS: readonly Fault[] = [
  {
    name: "check_then_act",
    file: "check_then_act.sql",
    summary: "reserve reads availability, then writes an unguarded increment (no lock, no guard) under READ COMMITTED",
    replaces: "try_reserve(uuid, integer, text, uuid)",
    caughtBy: ["no_aborted_clients"],
    httpReachable: true,
    workload: short({ script: "reserve" }),
    // The oversold write is refused as a 23514 (HTTP 500): reserve_errors{code:23514} count==0 fails.
    k6: race("reserve_errors{code:23514}"),
  },
  {
    name: "constraints_dropped",
    file: "constraints_dropped.sql",
    summary: "the three CHECK constraints on ticket_tiers are gone, so check_then_act's oversell commits",
    replaces: "CHECK check_no_negative_availability, check_reserved_lte_total, check_sold_lte_total",
    buildsOn: "check_then_act",
    caughtBy: ["reservations_within_inventory", "no_negative_availability", "reserved_lte_total"],
    httpReachable: true,
    workload: short({ script: "reserve" }),
    k6: race("oversell_detected"),
  },
  {
    name: "lost_update",
    file: "lost_update.sql",
    summary: "reserve writes an absolute count from a stale read (reserved = what I read + n): increments get lost",
    replaces: "try_reserve(uuid, integer, text, uuid)",
    caughtBy: ["active_holds_match_reserved", "reservations_within_inventory"],
    httpReachable: true,
    workload: short({ script: "reserve" }),
    k6: race("invariant_violations{check:active_holds_match_reserved}"),
  },
  {
    name: "double_payment",
    file: "double_payment.sql",
    summary: "payment completion reads the order without a lock: a concurrent redelivery marks the paid order payment_failed",
    replaces: "complete_payment(uuid, text)",
    caughtBy: ["paid_orders_fully_ticketed"],
    httpReachable: true,
    workload: short({ script: "mix" }),
    // Every payment's webhook arrives twice at once (at-least-once delivery): 10 doubled deliveries.
    k6: {
      bundle: "smoke",
      env: { ...QUIET, PAY_RATIO: "1", WEBHOOK_REDELIVERY_RATIO: "1" },
      vus: 4,
      duration: "3s",
      reached: { metric: "capacity_orders_paid", atLeast: 10 },
      expect: "invariant_violations{check:paid_orders_fully_ticketed}",
    },
  },
  {
    name: "double_checkout",
    file: "double_checkout.sql",
    summary: "checkout reads the holds without a lock: two tabs create two orders for one hold, one of them empty",
    replaces: "checkout_holds(uuid[], text)",
    caughtBy: ["no_double_checkout"],
    // Not over HTTP: enhanced-checkout (lt_checkout_once) links every hold it creates to its pending order
    // in the same transaction, so a later checkout of that hold ({event_id, hold_id, session_id}, the k6
    // second tab) always finds the order and returns it before the unlocked branch. Only a hold made by
    // try_reserve/reserve_tickets_batch directly (not exposed by the API) reaches the race; the race lab
    // (pgbench mix) catches it.
    httpReachable: false,
    workload: short({ script: "mix" }),
    k6: null,
  },
  {
    name: "expiry_keeps_inventory",
    file: "expiry_keeps_inventory.sql",
    summary: "the cleanup job expires holds but never gives their seats back",
    replaces: "cleanup_expired_holds()",
    caughtBy: ["active_holds_match_reserved"],
    httpReachable: true,
    // 100 seats: with 10, all ten buyers keep their holds (no abandonment to expire) about one run in ten.
    workload: short({ script: "mix", holdSeconds: 1, tickets: 100 }),
    // Needs the target's cleanup job running within the hold lifetime (the test runs it every 250 ms).
    // One expired hold keeps its seats: caught for certain.
    k6: {
      bundle: "abandonment",
      env: { ...QUIET, HOLD_SECONDS: "1", ABANDON_GRACE_SECONDS: "4" },
      vus: 3,
      duration: "2s",
      reached: { metric: "capacity_holds_expired", atLeast: 1 },
      expect: "invariant_violations{check:active_holds_match_reserved}",
    },
  },
  {
    name: "qr_repeats",
    file: "qr_repeats.sql",
    summary: "ticket QR codes come from a tiny space and repeat",
    replaces: "new_qr_code()",
    caughtBy: ["no_aborted_clients"],
    httpReachable: true,
    workload: short({ script: "mix" }),
    // The repeated code fails the payment with a 23505 (HTTP 500): payment_failures fails its threshold.
    // Four codes: five tickets asked for make a repeat certain (pigeonhole).
    k6: {
      bundle: "smoke",
      env: { ...QUIET, PAY_RATIO: "1" },
      vus: 4,
      duration: "2s",
      reached: { metric: "payment_latency", atLeast: 5 },
      expect: "payment_failures",
    },
  },
  {
    name: "write_skew_event_cap",
    file: "write_skew_event_cap.sql",
    summary: "two tiers share an event cap; reserve counts the event without locking it: write skew exceeds the cap",
    replaces: "try_reserve(uuid, integer, text, uuid)",
    caughtBy: ["event_capacity_respected", "reservations_within_inventory"],
    httpReachable: true,
    // READ COMMITTED: the fault's unlocked count needs no snapshot help to go wrong there.
    workload: short({ script: "reserve", tiers: 4, tickets: 10, capacity: 10 }),
    // One cap per event, so one boundary per run: a cap of 14 lets the two first bursts (12 seats) through
    // and has the next burst of 6 race for the last 2. Tiers of 100 seats, so that the cap, never a
    // tier's own guard, is what that burst meets (with 10-seat tiers a burst on a nearly full tier could
    // fill the cap exactly and leave the fault nothing to race for, 1 run in 10). Reached once the cap
    // is hit: 14 holds (more, when the fault lets the burst through).
    k6: race(
      "invariant_violations{check:event_capacity_respected}",
      { TIER_COUNT: "4", TICKETS_PER_TIER: "100", EVENT_CAPACITY: "14" },
      { metric: "capacity_holds_total", atLeast: 14 },
    ),
  },
  {
    name: "duplicate_holds",
    file: "duplicate_holds.sql",
    summary: "the one-hold-per-session unique index is replaced by an unlocked existence check: double-clicks take two holds",
    replaces: "uniq_active_hold_session_tier + try_reserve(uuid, integer, text, uuid)",
    caughtBy: ["one_active_hold_per_session"],
    httpReachable: true,
    workload: short({ script: "reserve", tickets: 1000, sessions: 5 }),
    // Every reserve is double-clicked; nobody pays, so both holds stay active until teardown: 12
    // double-clicks (24 reserves) give the unlocked check its chances.
    k6: {
      bundle: "smoke",
      env: { ...QUIET, PAY_RATIO: "0", DOUBLE_CLICK_RATIO: "1" },
      vus: 3,
      duration: "3s",
      reached: { metric: "reserve_latency", atLeast: 24 },
      expect: "invariant_violations{check:one_active_hold_per_session}",
    },
  },
  {
    name: "slow_reserve",
    file: "slow_reserve.sql",
    summary: "reserve locks the tier row first and works slowly while holding it: every reserve of a hot tier queues behind the last",
    replaces: "try_reserve(uuid, integer, text, uuid)",
    caughtBy: ["latency_under_2000ms"],
    httpReachable: true,
    // 20 clients queue for 0.25 s each behind one row lock: ~5 s per transaction once the queue forms.
    workload: short({ script: "reserve", durationSeconds: 5 }),
    // The race judges latency under contention. Over HTTP a sold-out tier answers before try_reserve is
    // called, so the hot tier here has seats enough for every reserve: 4 VUs on it wait ~1 s per reserve
    // (the p50 goal is 300 ms).
    k6: {
      bundle: "race",
      env: { ...QUIET, SALE_OPENS_IN: "0", TICKETS_PER_TIER: "100000" },
      vus: 4,
      duration: "3s",
      reached: { metric: "reserve_latency", atLeast: 8 },
      expect: "reserve_latency",
    },
  },
];

export const FAULT_NAMES = FAULTS.map((f) => f.name);

/** What a run's summary says of a `reached` metric: a counter's or trend's count, a gauge's value (0 when absent). */
export function reachedValue(metrics: Record<string, { values: Record<string, number> } | undefined>, metric: string): number {
  const values = metrics[metric]?.values;
  return values?.count ?? values?.value ?? 0;
}

export function findFault(name: string): Fault | undefined {
  return FAULTS.find((f) => f.name === name);
}

/** The SQL files a fault needs, base first. */
export function faultFiles(fault: Fault): string[] {
  const base = fault.buildsOn ? findFault(fault.buildsOn) : undefined;
  return [...(base ? faultFiles(base) : []), fault.file];
}

/** Plants one fault in the database at databaseUrl. Only ever call this on a scratch database. */
export async function applyFault(databaseUrl: string, name: string): Promise<Fault> {
  const fault = findFault(name);
  if (!fault) throw new Error(`unknown fault "${name}"; known faults: ${FAULT_NAMES.join(", ")}`);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    for (const file of faultFiles(fault)) await client.query(await readFile(`${FAULTS_DIR}${file}`, "utf8"));
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
  return fault;
}
