// Are the Liventix Advanced Load Testing Guide's counters of bucketed tiers kept settled? A bucketed tier's sold_quantity and
// reserved_quantity are exact after each settle_tier_counters() (supabase/migrations/20261201000200_
// inventory_buckets.sql), which pg_cron's job or the embedded target's timer runs every minute; a tier left
// unsettled for several minutes means nothing settles it, and dashboards reading the tier row see old numbers.
import type pg from "pg";
import { MISSED_INTERVALS } from "../backend/hold-expiry-sql.ts";
import { ago } from "./hold-expiry.ts";
import type { ReadinessItem } from "./readiness.ts";

const SETTLE_JOB_NAME = "liventix-settle-tier-counters";

export async function settleItem(client: pg.Client, intervalSeconds: number): Promise<ReadinessItem> {
  const name = "bucketed tiers' counters settled (settle_tier_counters)";
  const present = await client.query<{ present: boolean }>("SELECT to_regclass('public.inventory_buckets') IS NOT NULL AS present");
  if (!present.rows[0]?.present) {
    return {
      name,
      status: "pass",
      observed: "no inventory buckets here (20261201000200_inventory_buckets.sql not applied)",
      fix: "",
      required: true,
    };
  }
  const limit = MISSED_INTERVALS * intervalSeconds;
  // A writer that unsettles a tier stamps updated_at; a settle stamps it again when it is done.
  const r = await client.query<{ bucketed: string; stale: string; oldest: number | null }>(
    `SELECT count(*) FILTER (WHERE bucket_count > 1) AS bucketed,
            count(*) FILTER (WHERE bucket_count > 1 AND NOT counters_settled AND updated_at < now() - make_interval(secs => $1)) AS stale,
            max(extract(epoch FROM now() - updated_at))
              FILTER (WHERE bucket_count > 1 AND NOT counters_settled)::float8 AS oldest
       FROM public.ticket_tiers`,
    [limit],
  );
  const { bucketed, stale, oldest } = r.rows[0]!;
  if (Number(stale) > 0) {
    return {
      name,
      status: "fail",
      observed: `${stale} of ${bucketed} bucketed tiers unsettled for more than ${ago(limit)} (the oldest ${ago(oldest)}): their sold and reserved counters trail their buckets`,
      fix:
        "SELECT public.settle_tier_counters(); /* settles them now; then have it run every minute: */ " +
        `SELECT cron.schedule('${SETTLE_JOB_NAME}', '* * * * *', 'SELECT public.settle_tier_counters()');`,
      required: true,
    };
  }
  return {
    name,
    status: "pass",
    observed: Number(bucketed) === 0 ? "no bucketed tier" : `${bucketed} bucketed tiers, none unsettled for more than ${ago(limit)}`,
    fix: "",
    required: true,
  };
}
