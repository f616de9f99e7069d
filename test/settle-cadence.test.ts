// The embedded target settles bucketed tiers' counters at its own cadence (TARGET_SETTLE_INTERVAL_MS, a
// minute by default, as pg_cron's job), not on every hold-expiry tick: a settle rewrites every bucket of
// the tier, and under SERIALIZABLE every reservation in flight at that instant fails once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanupTicks } from "./support/hold-expiry.ts";
import { startTestTarget, waitFor, withPg, type LoadTestEvent } from "./support/target.ts";

async function settled(databaseUrl: string, tierId: string): Promise<boolean> {
  return withPg(databaseUrl, async (c) => {
    const { rows } = await c.query<{ settled: boolean }>("SELECT counters_settled AS settled FROM ticket_tiers WHERE id = $1", [tierId]);
    return rows[0]!.settled;
  });
}

test("hold-expiry ticks leave a bucketed tier unsettled until the settle interval has passed, then one tick settles it to its buckets' sums", async () => {
  // A target that would settle once a day owns the database; a second one on it settles every 200 ms.
  const rare = await startTestTarget({ cleanupIntervalMs: 50, settleIntervalMs: 86_400_000 });
  try {
    const ev = await rare.rpc<LoadTestEvent>("load_test_setup", {
      p_tickets_per_tier: 1000,
      p_buckets_per_tier: 16,
      p_name: "settle-cadence",
    });
    const tierId = ev.tier_ids[0]!;
    await withPg(rare.databaseUrl, (c) => c.query("SELECT public.try_reserve($1, 3, 'settle-cadence')", [tierId]));
    await cleanupTicks(rare.databaseUrl, 5);
    assert.equal(await settled(rare.databaseUrl, tierId), false, "a hold-expiry tick settled the tier");

    const often = await startTestTarget({ databaseUrl: rare.databaseUrl, cleanupIntervalMs: 50, settleIntervalMs: 200 });
    try {
      await waitFor("the tier settled", async () => ((await settled(rare.databaseUrl, tierId)) ? true : undefined));
      const tier = await withPg(rare.databaseUrl, async (c) => {
        const { rows } = await c.query("SELECT reserved_quantity, sold_quantity FROM ticket_tiers WHERE id = $1", [tierId]);
        return rows[0];
      });
      assert.deepEqual(tier, { reserved_quantity: 3, sold_quantity: 0 });
    } finally {
      await often.stop();
    }
  } finally {
    await rare.stop();
  }
});
