// The edges a hostile or merely unlucky client finds: totals past 2^31 cents, JSON nested to overflow
// the stack, Idempotency-Keys reused across callers and kept forever, clients that hang up mid-body.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { INVARIANT_NAMES, type InvariantRow } from "../lib/invariants.ts";
import { LOCAL_JWT_SECRET } from "../lib/local-target.ts";
import { signKey } from "../backend/auth.ts";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../backend/body.ts";
import { startTestTarget, waitFor, withPg, type LoadTestEvent, type TestTarget } from "./support/target.ts";

const CHECKOUT = "/functions/v1/enhanced-checkout";
let t: TestTarget;
before(async () => {
  t = await startTestTarget({ cleanupIntervalMs: 200, idempotencyTtlSeconds: 1 });
});
after(async () => {
  await t?.stop();
});

const userKey = (sub: string) => signKey(LOCAL_JWT_SECRET, "authenticated", 3600, sub);
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

test(`JSON is refused past ${MAX_JSON_DEPTH} levels, with the limit in the message`, async () => {
  assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH), false);
  assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH), true);
  assert.equal(nestsDeeperThan({ a: { b: [1, { c: null }] } }, 4), false);
  assert.equal(nestsDeeperThan({ a: { b: [1, { c: null }] } }, 3), true);
  const res = await t.post("/rest/v1/rpc/load_test_setup", `{"p_name": ${"[".repeat(30_000)}${"]".repeat(30_000)}}`, {
    key: t.serviceRoleKey,
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { message: string };
  assert.match(body.message, new RegExp(`the limit is ${MAX_JSON_DEPTH}`));
});

test("a total past 2^31 - 1 cents is kept exactly, opened and paid", async () => {
  const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 20, p_price_cents: 2_147_483_647, p_name: "big" });
  const res = await t.post(CHECKOUT, { event_id: ev.event_id, tier_id: ev.tier_ids[0], quantity: 10, session_id: "big-spender" });
  assert.equal(res.status, 200, await res.clone().text());
  const order = (await res.json()) as { order_id: string; total_cents: number };
  assert.equal(order.total_cents, 21_474_836_470);
  const session = (await (await t.post(`/functions/v1/checkout-session/${order.order_id}`, "")).json()) as { amount_cents: number };
  assert.equal(session.amount_cents, 21_474_836_470);
  const paid = await t.webhook({ id: "evt_big", type: "checkout.session.completed", data: { order_id: order.order_id } });
  assert.equal(paid.status, 200);
  const stored = await withPg(t.databaseUrl, (c) =>
    c.query<{ total_cents: string }>("SELECT total_cents FROM orders WHERE id = $1", [order.order_id]),
  );
  assert.equal(stored.rows[0]!.total_cents, "21474836470");
  const rows = await t.rpc<InvariantRow[]>("load_test_invariants", { p_event_id: ev.event_id });
  assert.deepEqual(
    rows.map((r) => [r.check_name, r.passed]),
    INVARIANT_NAMES.map((n) => [n, true]),
  );
});

test("an Idempotency-Key belongs to its caller: role and user", async () => {
  const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 20, p_name: "scoped keys" });
  const key = "shared-key-7";
  const buy = (session: string, apiKey: string) =>
    t.post(
      CHECKOUT,
      { event_id: ev.event_id, tier_id: ev.tier_ids[0], quantity: 1, session_id: session },
      { key: apiKey, headers: { "Idempotency-Key": key } },
    );
  const json = async (res: Response) => ({
    status: res.status,
    replay: res.headers.get("x-idempotent-replay"),
    body: (await res.json()) as { order_id?: string; error?: string },
  });

  const alice = await json(await buy("alice", await userKey("user-alice")));
  assert.equal(alice.status, 200);
  // The same key from another user, another body: their own request, neither Alice's answer nor a 422.
  const bob = await json(await buy("bob", await userKey("user-bob")));
  assert.equal(bob.status, 200);
  assert.equal(bob.replay, null);
  assert.notEqual(bob.body.order_id, alice.body.order_id);
  // Alice's retry is her replay.
  const again = await json(await buy("alice", await userKey("user-alice")));
  assert.deepEqual([again.status, again.replay, again.body.order_id], [200, "true", alice.body.order_id]);
  // Her exact request under another role is not her replay: it runs, and her active hold refuses it.
  const anon = await json(await buy("alice", t.anonKey));
  assert.deepEqual([anon.status, anon.replay, anon.body.error], [409, null, "HOLD_EXISTS"]);
  const service = await json(await buy("alice", t.serviceRoleKey));
  assert.deepEqual([service.status, service.replay, service.body.error], [409, null, "HOLD_EXISTS"]);
});

test("stored keys expire on the cleanup timer; a retry after that runs afresh and cannot take seats twice", async () => {
  const ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 20, p_name: "expiring keys" });
  const buy = () =>
    t.post(
      CHECKOUT,
      { event_id: ev.event_id, tier_id: ev.tier_ids[0], quantity: 2, session_id: "late-retry" },
      { headers: { "Idempotency-Key": "expires-soon" } },
    );
  assert.equal((await buy()).status, 200);
  const stored = () =>
    withPg(t.databaseUrl, async (c) =>
      Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM idempotency_keys WHERE key LIKE '%expires-soon%'")).rows[0]!.n),
    );
  assert.equal(await stored(), 1);
  await waitFor("the key to expire (TTL 1 s, timer every 200 ms)", async () => ((await stored()) === 0 ? true : undefined));
  const late = await buy();
  assert.equal(late.status, 409);
  assert.equal(late.headers.get("x-idempotent-replay"), null);
  assert.equal(((await late.json()) as { error: string }).error, "HOLD_EXISTS");
  const cap = await t.rpc<{ reserved: number }>("load_test_capacity", { p_event_id: ev.event_id });
  assert.equal(cap.reserved, 2, "the late retry took no seats");
});

test("clients that hang up mid-body are one debug line each, never a 500", async () => {
  const lines: string[] = [];
  const debug = await startTestTarget({ databaseUrl: t.databaseUrl, logLevel: "debug", onLog: (l) => lines.push(l) });
  const quiet: string[] = [];
  const info = await startTestTarget({ databaseUrl: t.databaseUrl, onLog: (l) => quiet.push(l) });
  try {
    const hangUp = (url: string, key: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(new URL(url).port), "127.0.0.1", () => {
          socket.write(
            `POST ${CHECKOUT} HTTP/1.1\r\nHost: x\r\napikey: ${key}\r\ncontent-type: application/json\r\n` +
              "content-length: 1000\r\nexpect: 100-continue\r\n\r\n",
          );
          // "100 Continue" says the request reached the app; part of the body, then gone.
          socket.once("data", () => {
            socket.write('{"event_id":');
            socket.resetAndDestroy();
          });
          socket.once("close", () => resolve());
        });
        socket.once("error", reject);
      });
    for (let i = 0; i < 3; i++) {
      await hangUp(debug.url, debug.anonKey);
      await hangUp(info.url, info.anonKey);
    }
    await waitFor("three abort lines", async () => (lines.filter((l) => /client aborted/.test(l)).length >= 3 ? true : undefined));
    // Requests answered after the aborts: every abort has been handled by then, on both targets.
    assert.equal((await fetch(`${debug.url}/health`)).status, 200);
    assert.equal((await fetch(`${info.url}/health`)).status, 200);
    assert.equal(lines.filter((l) => /client aborted \/functions\/v1\/enhanced-checkout/.test(l)).length, 3, lines.join("\n"));
    assert.deepEqual(
      lines.filter((l) => /500|unexpected/.test(l)),
      [],
    );
    assert.deepEqual(quiet, [], "nothing at the default level");
  } finally {
    await info.stop();
    await debug.stop();
  }
});
