// Compatibility: supabase-js, created as a Node 20 user creates it (with `ws` as the realtime transport,
// as supabase-js asks on Node < 22), calls the embedded target's RPC endpoint unchanged.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createClient, type SupabaseClient, type SupabaseClientOptions } from "@supabase/supabase-js";
import ws from "ws";
import { INVARIANT_NAMES, type InvariantRow } from "../lib/invariants.ts";
import { startTestTarget, type LoadTestEvent, type TestTarget } from "./support/target.ts";

let t: TestTarget;
before(async () => {
  t = await startTestTarget();
});
after(async () => {
  await t?.stop();
});

// supabase-js's type for a transport lacks the `new WebSocket(null)` overload @types/ws declares; ws is the
// transport it documents, so the assertion only bridges the two declarations.
type Transport = NonNullable<NonNullable<SupabaseClientOptions<"public">["realtime"]>["transport"]>;
const client = (key: string): SupabaseClient =>
  createClient(t.url, key, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: ws as Transport } });

test("supabase-js rpc() works unchanged against the target", async () => {
  const supabase = client(t.serviceRoleKey);
  const setup = await supabase.rpc("load_test_setup", { p_tier_count: 2, p_tickets_per_tier: 5 });
  assert.equal(setup.error, null);
  const created = setup.data as LoadTestEvent;
  assert.equal(created.tier_ids.length, 2);
  assert.equal(created.total_tickets, 10);
  const inv = await supabase.rpc("load_test_invariants", { p_event_id: created.event_id });
  assert.equal(inv.error, null);
  assert.deepEqual(
    (inv.data as InvariantRow[]).map((r) => [r.check_name, r.passed]),
    INVARIANT_NAMES.map((n) => [n, true]),
  );
  const cleaned = await supabase.rpc("cleanup_expired_holds");
  assert.equal(cleaned.error, null);
  assert.equal(typeof cleaned.data, "number");
});

test("supabase-js sees the target's refusals as PostgREST errors: status, code and message", async () => {
  const refused = await client(t.anonKey).rpc("load_test_setup", {});
  assert.equal(refused.status, 403);
  assert.equal(refused.data, null);
  assert.match(refused.error?.message ?? "", /service_role/);
  const unknown = await client(t.serviceRoleKey).rpc("no_such_function", {});
  assert.equal(unknown.status, 404);
  assert.match(unknown.error?.message ?? "", /no callable function "no_such_function"/);
});
