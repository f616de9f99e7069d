// The target's promises under contention, over real HTTP against real PostgreSQL: no oversell at READ
// COMMITTED, REPEATABLE READ or SERIALIZABLE (on the Liventix Advanced Load Testing Guide's single row
// and on inventory buckets), one hold per Idempotency-Key, expiry gives seats back, and a payment is
// applied exactly once however often the provider redelivers it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isPlainSoldOutText } from "../lib/classify.ts";
import { RETRIES_HEADER } from "../lib/errors.ts";
import { INVARIANT_NAMES, type InvariantRow } from "../lib/invariants.ts";
import pg from "pg";
import { startTestTarget, waitFor, withPg, type LoadTestEvent, type TestTarget } from "./support/target.ts";

let rc: TestTarget;
let serializable: TestTarget;
let repeatableRead: TestTarget;

before(async () => {
  rc = await startTestTarget();
  // Same database, more API processes at stricter isolation: one embedded server serves them all.
  serializable = await startTestTarget({ databaseUrl: rc.databaseUrl, isolation: "serializable" });
  repeatableRead = await startTestTarget({ databaseUrl: rc.databaseUrl, isolation: "repeatable_read" });
});
after(async () => {
  await repeatableRead?.stop();
  await serializable?.stop();
  await rc?.stop();
});

async function assertInvariants(t: TestTarget, eventId: string): Promise<void> {
  const rows = await t.rpc<InvariantRow[]>("load_test_invariants", { p_event_id: eventId });
  assert.deepEqual(
    rows.map((r) => r.check_name),
    INVARIANT_NAMES,
  );
  const failed = rows.filter((r) => !r.passed);
  assert.deepEqual(failed, [], "every invariant passes");
}

async function tier(t: TestTarget, tierId: string) {
  return withPg(t.databaseUrl, async (c) => {
    const { rows } = await c.query<{ sold: number; reserved: number }>(
      "SELECT sold_quantity AS sold, reserved_quantity AS reserved FROM ticket_tiers WHERE id = $1",
      [tierId],
    );
    return rows[0]!;
  });
}

function reserve(t: TestTarget, ev: LoadTestEvent, session: string, headers: Record<string, string> = {}, quantity = 1) {
  return t.post(
    "/functions/v1/enhanced-checkout",
    { event_id: ev.event_id, tier_id: ev.tier_ids[0], quantity, session_id: session },
    { headers },
  );
}

async function flashSale(t: TestTarget, label: string, setup: Record<string, unknown> = { p_tickets_per_tier: 10 }) {
  const ev = await t.rpc<LoadTestEvent & { buckets_per_tier: number }>("load_test_setup", { ...setup, p_name: label });
  const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => reserve(t, ev, `${label}-${i}`)));
  const statuses = new Map<number, number>();
  const errors = new Map<string, number>();
  const soldOutTexts: string[] = [];
  for (const res of responses) {
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const text = await res.text();
    const body = JSON.parse(text) as { error?: string };
    if (body.error) errors.set(body.error, (errors.get(body.error) ?? 0) + 1);
    if (body.error === "INSUFFICIENT_INVENTORY") soldOutTexts.push(text);
  }
  const retries = responses.map((res) => res.headers.get(RETRIES_HEADER));
  return { ev, statuses, errors, retries, soldOutTexts };
}

describe("flash sale: 200 buyers", () => {
  test("READ COMMITTED: exactly 10 × 200 and 190 × 409, invariants hold", async () => {
    const { ev, statuses, errors, soldOutTexts } = await flashSale(rc, "rc");
    assert.equal(statuses.get(200), 10);
    assert.equal(statuses.get(409), 190);
    assert.deepEqual([...errors.keys()], ["INSUFFICIENT_INVENTORY"]);
    // The load generator records these without parsing them (lib/k6/api.ts): each must be recognised.
    assert.deepEqual(
      soldOutTexts.filter((text) => !isPlainSoldOutText(text)),
      [],
    );
    assert.deepEqual(await tier(rc, ev.tier_ids[0]!), { sold: 0, reserved: 10 });
    await assertInvariants(rc, ev.event_id);
  });

  // Both stricter levels make the second updater of the tier row fail with 40001 instead of waiting for it.
  for (const [level, label, target] of [
    ["SERIALIZABLE", "ser", () => serializable],
    ["REPEATABLE READ", "rr", () => repeatableRead],
  ] as const) {
    test(`${level}: exactly 10 × 200, the rest 409 (server-side retries absorb 40001), invariants hold`, async (t) => {
      const api = target();
      const before = api.retryStats();
      const { ev, statuses } = await flashSale(api, label);
      const after = api.retryStats();
      t.diagnostic(
        `statuses ${JSON.stringify(Object.fromEntries(statuses))}; server-side 40001 retries ${after.retries - before.retries}, ` +
          `exhausted ${after.exhausted - before.exhausted}`,
      );
      assert.equal(statuses.get(200), 10);
      assert.equal((statuses.get(409) ?? 0) + (statuses.get(503) ?? 0), 190);
      assert.equal(statuses.get(503) ?? 0, 0, "no request outlived the 8 server-side retries");
      assert.deepEqual(await tier(api, ev.tier_ids[0]!), { sold: 0, reserved: 10 });
      await assertInvariants(api, ev.event_id);
    });
  }

  test("SERIALIZABLE on 100 seats in 10 buckets: exactly 100 × 200 and 100 × 409, no 503, each answer says its retries", async (t) => {
    const before = serializable.retryStats();
    const { ev, statuses, errors, retries } = await flashSale(serializable, "ser-buckets", {
      p_tickets_per_tier: 100,
      p_buckets_per_tier: 10,
    });
    const after = serializable.retryStats();
    t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}; server-side retries ${after.retries - before.retries}`);
    assert.equal(ev.buckets_per_tier, 10);
    assert.deepEqual(Object.fromEntries(statuses), { 200: 100, 409: 100 });
    assert.deepEqual([...errors.keys()], ["INSUFFICIENT_INVENTORY"]);
    assert.ok(
      retries.every((r) => r !== null && /^\d+$/.test(r)),
      `every answer carries ${RETRIES_HEADER}`,
    );
    assert.equal(
      retries.reduce((sum, r) => sum + Number(r), 0),
      after.retries - before.retries,
      "the headers add up to the server's retries",
    );
    const held = await withPg(serializable.databaseUrl, (c) =>
      c.query<{ reserved: number }>("SELECT reserved_quantity AS reserved FROM tier_inventory($1)", [ev.event_id]),
    );
    assert.deepEqual(held.rows, [{ reserved: 100 }]);
    await assertInvariants(serializable, ev.event_id);
  });
});

describe("Idempotency-Key", () => {
  test("50 concurrent requests with one key: one hold, identical answers, 49 flagged replays", async () => {
    const ev = await rc.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 100 });
    const key = `idem-${ev.event_id}`;
    const responses = await Promise.all(Array.from({ length: 50 }, () => reserve(rc, ev, "one-buyer", { "Idempotency-Key": key }, 2)));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(new Set(bodies).size, 1, "every answer carries the same body");
    assert.equal(responses.filter((r) => r.headers.get("x-idempotent-replay") === "true").length, 49);
    const holds = await withPg(rc.databaseUrl, (c) => c.query("SELECT quantity FROM ticket_holds WHERE event_id = $1", [ev.event_id]));
    assert.deepEqual(holds.rows, [{ quantity: 2 }]);
    assert.deepEqual(await tier(rc, ev.tier_ids[0]!), { sold: 0, reserved: 2 });
    await assertInvariants(rc, ev.event_id);
  });

  test("a replayed refusal keeps its status; the same key with another body is 422", async () => {
    const ev = await rc.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 0 });
    const key = `soldout-${ev.event_id}`;
    const first = await reserve(rc, ev, "late-buyer", { "Idempotency-Key": key });
    const again = await reserve(rc, ev, "late-buyer", { "Idempotency-Key": key });
    assert.equal(first.status, 409);
    assert.equal(again.status, 409);
    assert.equal(again.headers.get("x-idempotent-replay"), "true");
    assert.deepEqual(await again.json(), await first.json());
    const other = await reserve(rc, ev, "late-buyer", { "Idempotency-Key": key }, 3);
    assert.equal(other.status, 422);
    assert.equal(((await other.json()) as { error: string }).error, "IDEMPOTENCY_KEY_REUSED");
  });
});

test("expired holds give their seats back", async () => {
  const ev = await rc.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 3, p_hold_seconds: 1 });
  assert.equal((await reserve(rc, ev, "expiring", {}, 3)).status, 200);
  assert.equal((await reserve(rc, ev, "waiting")).status, 409, "sold out while the hold lasts");
  // The hold lasts one second; cleanup runs through the RPC until it has expired it.
  await waitFor("cleanup_expired_holds to expire the hold", async () => {
    await rc.rpc<number>("cleanup_expired_holds");
    const { reserved } = await tier(rc, ev.tier_ids[0]!);
    return reserved === 0 ? true : undefined;
  });
  assert.equal((await reserve(rc, ev, "waiting")).status, 200);
  await assertInvariants(rc, ev.event_id);
});

describe("payment webhook", () => {
  async function pendingOrder(quantity: number) {
    const ev = await rc.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 20 });
    const res = await reserve(rc, ev, `payer-${ev.event_id}`, {}, quantity);
    assert.equal(res.status, 200);
    const { order_id } = (await res.json()) as { order_id: string };
    return { ev, orderId: order_id };
  }

  async function assertPaidOnce(ev: LoadTestEvent, orderId: string, responses: Response[], quantity: number) {
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { tickets_issued: number; replay: boolean }[];
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(bodies.filter((b) => !b.replay).length, 1, "exactly one delivery applied the payment");
    assert.ok(bodies.every((b) => b.tickets_issued === quantity));
    const tickets = await withPg(rc.databaseUrl, (c) => c.query("SELECT 1 FROM tickets WHERE order_id = $1", [orderId]));
    assert.equal(tickets.rowCount, quantity);
    assert.deepEqual(await tier(rc, ev.tier_ids[0]!), { sold: quantity, reserved: 0 });
    await assertInvariants(rc, ev.event_id);
  }

  test("20 concurrent redeliveries of one event complete the order once", async () => {
    const { ev, orderId } = await pendingOrder(3);
    const event = { id: `evt_same_${orderId}`, type: "checkout.session.completed", data: { order_id: orderId } };
    const responses = await Promise.all(Array.from({ length: 20 }, () => rc.webhook(event)));
    await assertPaidOnce(ev, orderId, responses, 3);
  });

  test("20 concurrent events with different ids for one order complete it once", async () => {
    const { ev, orderId } = await pendingOrder(4);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rc.webhook({ id: `evt_${i}_${orderId}`, type: "checkout.session.completed", data: { order_id: orderId } }),
      ),
    );
    await assertPaidOnce(ev, orderId, responses, 4);
  });
});

describe("conflicts and saturation", () => {
  /** Holds the tier row's lock from outside the API until `release` is called. */
  async function lockTier(databaseUrl: string, tierId: string) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query("BEGIN");
    await client.query("UPDATE ticket_tiers SET updated_at = now() WHERE id = $1", [tierId]);
    return {
      release: async () => {
        await client.query("COMMIT");
        await client.end();
      },
    };
  }

  const blockedOnLock = (databaseUrl: string) =>
    waitFor("the API's transaction to wait on the tier lock", () =>
      withPg(databaseUrl, async (c) => {
        const { rows } = await c.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'liventix-target' AND wait_event_type = 'Lock'",
        );
        return rows.length > 0 ? true : undefined;
      }),
    );

  test("a 40001 that outlives the retries is 503 SERIALIZATION_FAILURE with Retry-After; one retry absorbs it", async () => {
    for (const maxRetries of [0, 1]) {
      const t = await startTestTarget({ databaseUrl: rc.databaseUrl, isolation: "serializable", maxRetries });
      try {
        const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 5 });
        const lock = await lockTier(t.databaseUrl, ev.tier_ids[0]!);
        const pending = reserve(t, ev, `conflict-${maxRetries}`);
        await blockedOnLock(t.databaseUrl);
        // Committing a change to the row after the API's snapshot makes its UPDATE fail with 40001.
        await lock.release();
        const res = await pending;
        if (maxRetries === 0) {
          assert.equal(res.status, 503);
          assert.equal(res.headers.get("retry-after"), "1");
          assert.equal(res.headers.get(RETRIES_HEADER), "0", "no retry was allowed");
          assert.deepEqual(
            { ...((await res.json()) as object), message: "" },
            { error: "SERIALIZATION_FAILURE", sqlstate: "40001", message: "" },
          );
          assert.deepEqual(await tier(t, ev.tier_ids[0]!), { sold: 0, reserved: 0 }, "the failed attempt left nothing");
        } else {
          assert.equal(res.status, 200);
          assert.deepEqual(t.retryStats(), { retries: 1, exhausted: 0 });
          assert.equal(res.headers.get(RETRIES_HEADER), "1", "the client is told of the retry it did not see");
        }
        await assertInvariants(t, ev.event_id);
      } finally {
        await t.stop();
      }
    }
  });

  test("a pool that stays exhausted answers 503 SERVICE_UNAVAILABLE with Retry-After", async () => {
    const t = await startTestTarget({ databaseUrl: rc.databaseUrl, poolSize: 1, poolTimeoutMs: 200 });
    try {
      const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 5 });
      const lock = await lockTier(t.databaseUrl, ev.tier_ids[0]!);
      // The first request takes the only connection and waits on the lock; the second finds none.
      const first = reserve(t, ev, "holds-the-connection");
      await blockedOnLock(t.databaseUrl);
      const second = await reserve(t, ev, "finds-no-connection");
      assert.equal(second.status, 503);
      assert.equal(second.headers.get("retry-after"), "1");
      assert.equal(((await second.json()) as { error: string }).error, "SERVICE_UNAVAILABLE");
      await lock.release();
      assert.equal((await first).status, 200);
    } finally {
      await t.stop();
    }
  });

  test("the cleanup timer expires holds by itself", async () => {
    const t = await startTestTarget({ databaseUrl: rc.databaseUrl, cleanupIntervalMs: 200 });
    try {
      assert.equal(t.cleanup, "timer");
      const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 2, p_hold_seconds: 1 });
      assert.equal((await reserve(t, ev, "left-to-expire", {}, 2)).status, 200);
      await waitFor("the timer to give the seats back", async () => ((await tier(t, ev.tier_ids[0]!)).reserved === 0 ? true : undefined));
      await assertInvariants(t, ev.event_id);
    } finally {
      await t.stop();
    }
  });
});
