// The SQL functions and tables the migrations create in schema public, and who besides their owner may
// use them (supabase/migrations/20261201000000_api_privileges.sql sets it; docs/contract.md explains
// it). Pure module: the readiness audit and the privilege tests read it.

/** Functions service_role may execute: the load-test tools called over /rest/v1/rpc (and the live counters of bucketed tiers) and the three behind the Edge Function routes. */
export const SERVICE_ROLE_FUNCTIONS = [
  "load_test_setup",
  "load_test_invariants",
  "load_test_capacity",
  "cleanup_expired_holds",
  "enhanced_checkout",
  "open_checkout_session",
  "complete_payment",
  "settle_tier_counters",
  "tier_inventory",
] as const;

/** Functions only their owner executes: the SECURITY DEFINER functions above call them as the owner. */
const OWNER_ONLY_FUNCTIONS = [
  "try_reserve",
  "reserve_tickets_batch",
  "checkout_holds",
  "lt_checkout_once",
  "release_hold",
  "cleanup_idempotency_keys",
  "lt_error",
  "lt_try_uuid",
  "new_qr_code",
  "lt_delete_tier_children",
  "spread_tier_inventory",
  "lt_take_seats",
  "lt_settle_tier",
] as const;

/** Every function of the suite: anon and authenticated may execute none of them. */
export const SQL_FUNCTIONS: readonly string[] = [...SERVICE_ROLE_FUNCTIONS, ...OWNER_ONLY_FUNCTIONS];

/** Every table of the suite: row level security on, no privileges for anon or authenticated. */
export const SQL_TABLES = [
  "events",
  "ticket_tiers",
  "ticket_holds",
  "orders",
  "tickets",
  "idempotency_keys",
  "payment_events",
  "hold_cleanup_repairs",
  "inventory_buckets",
] as const;
