// Names of the database invariants that `load_test_invariants(event_id)` reports, one row each.
// Shared by the SQL (which emits them), the k6 teardown, the race lab and `npm run verify` (which
// tag and print them). Pure module: no k6 import.

const INVARIANTS = {
  no_negative_availability: "no tier has sold + reserved above total, nor a negative counter",
  reserved_lte_total: "reserved_quantity <= total_quantity on every tier",
  sold_lte_total: "sold_quantity <= total_quantity on every tier",
  active_holds_match_reserved: "reserved_quantity equals the sum of active hold quantities, per tier",
  no_duplicate_tickets: "no QR code is issued twice and no seat of a hold is ticketed twice",
  tickets_match_sold: "tickets issued equal sold_quantity, per tier",
  no_stale_active_holds: "no active hold is past its expiry by more than the cleanup grace",
  paid_orders_fully_ticketed: "every paid order has exactly one ticket per held seat, and no unpaid order has tickets",
  event_capacity_respected: "where an event caps its total capacity, sold + reserved across its tiers stays within it",
  one_active_hold_per_session: "no session holds two active holds on the same tier",
  no_counter_repairs: "the hold cleanup never had to repair a tier's reserved_quantity (it does when the counter drifted below the holds)",
  buckets_match_tier:
    "a bucketed tier's buckets are numbered 0..bucket_count-1, their totals sum to its total, and each keeps sold + reserved <= total",
  bucket_counters_match_holds:
    "each bucket's reserved and sold equal the seats of its active and converted holds; a hold names a bucket exactly when its tier is bucketed",
  settled_counters_match_buckets:
    "a bucketed tier marked counters_settled carries its buckets' sums in sold_quantity and reserved_quantity",
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export const INVARIANT_NAMES = Object.keys(INVARIANTS) as InvariantName[];

/** One row of `load_test_invariants`, as every caller receives it. */
export interface InvariantRow {
  check_name: string;
  passed: boolean;
  observed: string;
  detail: string;
}

/** Checks whose failure means more seats were promised than exist: counted as `oversell_detected`. */
export const OVERSELL_CHECKS: readonly InvariantName[] = [
  "no_negative_availability",
  "reserved_lte_total",
  "sold_lte_total",
  "event_capacity_respected",
];
