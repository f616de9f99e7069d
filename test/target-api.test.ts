// Everything a client can get wrong gets its documented status and changes nothing in the database;
// keys are checked.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LOCAL_JWT_SECRET, WEBHOOK_SIGNATURE_HEADER } from "../lib/local-target.ts";
import { signKey } from "../backend/auth.ts";
import { signPayload } from "../backend/webhook.ts";
import { databaseFingerprint, startTestTarget, type LoadTestEvent, type TestTarget } from "./support/target.ts";

let t: TestTarget;
let ev: LoadTestEvent;
let orderId: string;

before(async () => {
  t = await startTestTarget();
  ev = await t.rpc<LoadTestEvent>("load_test_setup", { p_tickets_per_tier: 50 });
  const res = await t.post("/functions/v1/enhanced-checkout", {
    event_id: ev.event_id,
    tier_id: ev.tier_ids[0],
    quantity: 1,
    session_id: "existing",
  });
  orderId = ((await res.json()) as { order_id: string }).order_id;
});
after(async () => {
  await t?.stop();
});

const UNKNOWN = "00000000-0000-4000-8000-000000000000";
const CHECKOUT = "/functions/v1/enhanced-checkout";

interface BadCase {
  name: string;
  status: number;
  error: string;
  /** Defaults to a POST of `body` to enhanced-checkout with the anon key. */
  send?: () => Promise<Response>;
  body?: unknown;
  field?: string;
}

function good(extra: Record<string, unknown> = {}) {
  return { event_id: ev.event_id, tier_id: ev.tier_ids[0], quantity: 1, session_id: "bad-input", ...extra };
}

function without(name: string) {
  const body: Record<string, unknown> = good();
  delete body[name];
  return body;
}

const cases = (): BadCase[] => [
  { name: "missing quantity", body: without("quantity"), status: 400, error: "INVALID_REQUEST", field: "quantity" },
  { name: "missing session_id", body: without("session_id"), status: 400, error: "INVALID_REQUEST", field: "session_id" },
  { name: "extra field", body: good({ price_cents: 1 }), status: 400, error: "INVALID_REQUEST", field: "price_cents" },
  { name: "negative quantity", body: good({ quantity: -1 }), status: 400, error: "INVALID_REQUEST", field: "quantity" },
  { name: "zero quantity", body: good({ quantity: 0 }), status: 400, error: "INVALID_REQUEST", field: "quantity" },
  { name: "huge quantity", body: good({ quantity: 1e12 }), status: 400, error: "INVALID_REQUEST", field: "quantity" },
  { name: "fractional quantity", body: good({ quantity: 1.5 }), status: 400, error: "INVALID_REQUEST", field: "quantity" },
  { name: "quantity as string", body: good({ quantity: "1" }), status: 400, error: "INVALID_REQUEST", field: "quantity" },
  { name: "event_id as number", body: good({ event_id: 42 }), status: 400, error: "INVALID_REQUEST", field: "event_id" },
  { name: "session_id too long", body: good({ session_id: "s".repeat(129) }), status: 400, error: "INVALID_REQUEST", field: "session_id" },
  { name: "body is an array", body: [good()], status: 400, error: "INVALID_REQUEST", field: "(body)" },
  { name: "body is null", body: "null", status: 400, error: "INVALID_REQUEST", field: "(body)" },
  { name: "malformed JSON", body: '{"event_id": ', status: 400, error: "INVALID_JSON" },
  { name: "empty body", body: "", status: 400, error: "INVALID_JSON" },
  { name: "unknown event", body: good({ event_id: UNKNOWN }), status: 404, error: "EVENT_NOT_FOUND" },
  { name: "unknown tier", body: good({ tier_id: UNKNOWN }), status: 404, error: "TIER_NOT_FOUND" },
  { name: "unknown hold", body: { event_id: ev.event_id, hold_id: UNKNOWN, session_id: "x" }, status: 404, error: "HOLD_NOT_FOUND" },
  // The test above already stored a hold for this session id, injection text and all, so the same
  // request is now refused as a duplicate: the text reached the SQL as a value, never as SQL.
  {
    name: "SQL injection in session_id",
    body: good({ session_id: "x'); DELETE FROM ticket_tiers; --" }),
    status: 409,
    error: "HOLD_EXISTS",
  },
  { name: "SQL injection as event_id", body: good({ event_id: "' OR 1=1 --" }), status: 400, error: "INVALID_REQUEST", field: "event_id" },
  {
    name: "invalid Idempotency-Key",
    send: () => t.post(CHECKOUT, good(), { headers: { "Idempotency-Key": "has space" } }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "Idempotency-Key",
  },
  {
    name: "oversize body (Content-Length)",
    body: JSON.stringify({ ...good(), pad: "x".repeat(70_000) }),
    status: 413,
    error: "PAYLOAD_TOO_LARGE",
  },
  {
    name: "oversize body (chunked, no Content-Length)",
    send: () => {
      const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(chunk);
        },
      });
      return fetch(`${t.url}${CHECKOUT}`, {
        method: "POST",
        headers: { apikey: t.anonKey, "content-type": "application/json" },
        body: stream,
        duplex: "half",
      } as RequestInit);
    },
    status: 413,
    error: "PAYLOAD_TOO_LARGE",
  },
  {
    name: "form-encoded body",
    send: () => t.post(CHECKOUT, "a=1", { headers: { "content-type": "application/x-www-form-urlencoded" } }),
    status: 415,
    error: "UNSUPPORTED_MEDIA_TYPE",
  },
  { name: "no key", send: () => t.post(CHECKOUT, good(), { key: null }), status: 401, error: "UNAUTHORIZED" },
  { name: "garbage key", send: () => t.post(CHECKOUT, good(), { key: "not-a-jwt" }), status: 401, error: "UNAUTHORIZED" },
  {
    name: "expired key",
    send: async () => t.post(CHECKOUT, good(), { key: await signKey(LOCAL_JWT_SECRET, "anon", -60) }),
    status: 401,
    error: "UNAUTHORIZED",
  },
  {
    name: "key signed with another secret",
    send: async () => t.post(CHECKOUT, good(), { key: await signKey("another-secret-that-is-at-least-32-chars", "service_role") }),
    status: 401,
    error: "UNAUTHORIZED",
  },
  {
    name: "good apikey, garbage bearer",
    send: () => t.post(CHECKOUT, good(), { key: null, headers: { apikey: t.anonKey, authorization: "Bearer garbage" } }),
    status: 401,
    error: "UNAUTHORIZED",
  },
  {
    name: "anon on a service RPC",
    send: () => t.post("/rest/v1/rpc/load_test_setup", {}, { key: t.anonKey }),
    status: 403,
    error: "FORBIDDEN",
  },
  { name: "anon on cleanup RPC", send: () => t.post("/rest/v1/rpc/cleanup_expired_holds", {}), status: 403, error: "FORBIDDEN" },
  { name: "unknown RPC", send: () => t.post("/rest/v1/rpc/try_reserve", {}, { key: t.serviceRoleKey }), status: 404, error: "NOT_FOUND" },
  // Refused before any lookup: anon cannot tell existing functions from missing ones.
  { name: "anon on an unknown RPC", send: () => t.post("/rest/v1/rpc/no_such_function", {}), status: 403, error: "FORBIDDEN" },
  {
    name: "RPC nested 20,000 deep",
    send: () => t.post("/rest/v1/rpc/load_test_setup", `{"p_name": ${deep(20_000)}}`, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "(body)",
  },
  { name: "checkout nested 65 deep", body: `{"event_id": ${deep(64)}}`, status: 400, error: "INVALID_REQUEST", field: "(body)" },
  {
    name: "RPC whole number out of range",
    send: () => t.post("/rest/v1/rpc/load_test_setup", { p_price_cents: 3_000_000_000 }, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "p_price_cents",
  },
  {
    name: "RPC fractional whole number",
    send: () => t.post("/rest/v1/rpc/load_test_setup", { p_tier_count: 1.5 }, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "p_tier_count",
  },
  {
    name: "UTF-16 body",
    send: () => t.post(CHECKOUT, good(), { headers: { "content-type": "application/json; charset=utf-16" } }),
    status: 415,
    error: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    name: "Latin-1 webhook",
    send: () =>
      fetch(`${t.url}/functions/v1/payment-webhook`, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=ISO-8859-1",
          [WEBHOOK_SIGNATURE_HEADER]: signPayload(t.webhookSecret, paid(orderId)),
        },
        body: paid(orderId),
      }),
    status: 415,
    error: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    name: "bytes that are not UTF-8",
    send: () =>
      fetch(`${t.url}${CHECKOUT}`, {
        method: "POST",
        headers: { apikey: t.anonKey, "content-type": "application/json" },
        body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      }),
    status: 400,
    error: "INVALID_JSON",
  },
  {
    name: "unknown RPC argument",
    send: () => t.post("/rest/v1/rpc/load_test_capacity", { p_event_id: ev.event_id, p_x: 1 }, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "p_x",
  },
  {
    name: "missing RPC argument",
    send: () => t.post("/rest/v1/rpc/load_test_invariants", {}, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "p_event_id",
  },
  {
    name: "RPC argument of the wrong type",
    send: () => t.post("/rest/v1/rpc/load_test_invariants", { p_event_id: "nope" }, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
  },
  {
    name: "RPC argument out of range",
    send: () => t.post("/rest/v1/rpc/load_test_setup", { p_tier_count: 0 }, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
  },
  {
    name: "RPC text argument with a NUL",
    send: () => t.post("/rest/v1/rpc/load_test_setup", { p_name: "a\u0000b" }, { key: t.serviceRoleKey }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "p_name",
  },
  { name: "session_id with a NUL", body: good({ session_id: "a\u0000b" }), status: 400, error: "INVALID_REQUEST" },
  {
    name: "RPC on an unknown event",
    send: () => t.post("/rest/v1/rpc/load_test_capacity", { p_event_id: UNKNOWN }, { key: t.serviceRoleKey }),
    status: 404,
    error: "EVENT_NOT_FOUND",
  },
  {
    name: "malformed order id in session URL",
    send: () => t.post("/functions/v1/checkout-session/1;drop", ""),
    status: 400,
    error: "INVALID_REQUEST",
    field: "order_id",
  },
  {
    name: "unknown order in session URL",
    send: () => t.post(`/functions/v1/checkout-session/${UNKNOWN}`, ""),
    status: 404,
    error: "ORDER_NOT_FOUND",
  },
  {
    name: "webhook without signature",
    send: () => fetch(`${t.url}/functions/v1/payment-webhook`, { method: "POST", body: paid(orderId) }),
    status: 401,
    error: "INVALID_SIGNATURE",
  },
  {
    name: "webhook with a wrong signature",
    send: () => webhook(paid(orderId), signPayload("whsec_someone_else_entirely", paid(orderId))),
    status: 401,
    error: "INVALID_SIGNATURE",
  },
  {
    name: "webhook signed over other bytes",
    send: () => webhook(paid(orderId), signPayload(t.webhookSecret, paid(UNKNOWN))),
    status: 401,
    error: "INVALID_SIGNATURE",
  },
  {
    name: "webhook signed, malformed JSON",
    send: () => webhook("{nope", signPayload(t.webhookSecret, "{nope")),
    status: 400,
    error: "INVALID_JSON",
  },
  {
    name: "webhook signed, order_id missing",
    send: () => signedWebhook({ id: "evt_x", type: "checkout.session.completed", data: {} }),
    status: 400,
    error: "INVALID_REQUEST",
    field: "data.order_id",
  },
  {
    name: "webhook signed, unknown order",
    send: () => signedWebhook({ id: "evt_y", type: "checkout.session.completed", data: { order_id: UNKNOWN } }),
    status: 404,
    error: "ORDER_NOT_FOUND",
  },
  { name: "unknown route", send: () => fetch(`${t.url}/functions/v1/nope`, { method: "POST" }), status: 404, error: "NOT_FOUND" },
  { name: "wrong method", send: () => fetch(`${t.url}${CHECKOUT}`, { method: "PUT" }), status: 405, error: "METHOD_NOT_ALLOWED" },
];

/** `depth` arrays nested in one another. */
function deep(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

function paid(id: string): string {
  return JSON.stringify({ id: `evt_${id}`, type: "checkout.session.completed", data: { order_id: id } });
}
function webhook(raw: string, signature: string): Promise<Response> {
  return fetch(`${t.url}/functions/v1/payment-webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", [WEBHOOK_SIGNATURE_HEADER]: signature },
    body: raw,
  });
}
function signedWebhook(body: unknown): Promise<Response> {
  const raw = JSON.stringify(body);
  return webhook(raw, signPayload(t.webhookSecret, raw));
}

describe("bad input", () => {
  test("an SQL-injection session id is stored as plain text", async () => {
    const res = await t.post(CHECKOUT, good({ session_id: "x'); DELETE FROM ticket_tiers; --" }));
    assert.equal(res.status, 200);
    const tiers = await t.rpc<{ total_tickets: number }>("load_test_capacity", { p_event_id: ev.event_id });
    assert.equal(tiers.total_tickets, 50);
  });

  test("every bad request gets its documented status and changes nothing", async () => {
    const before = await databaseFingerprint(t.databaseUrl);
    for (const c of cases()) {
      const res = c.send ? await c.send() : await t.post(CHECKOUT, c.body);
      const text = await res.text();
      assert.equal(res.status, c.status, `${c.name}: ${text}`);
      const body = JSON.parse(text) as { error: string; message: string; fields?: { field: string }[] };
      assert.equal(body.error, c.error, c.name);
      assert.ok(body.message.length > 0, `${c.name}: a message`);
      assert.doesNotMatch(text, /\bat .+\.ts:\d+|postgresql:\/\//, `${c.name}: no stack or connection string`);
      if (c.field)
        assert.ok(
          body.fields?.some((f) => f.field === c.field),
          `${c.name}: names ${c.field} in ${text}`,
        );
      if (res.status === 405) assert.equal(res.headers.get("allow"), "POST");
    }
    assert.deepEqual(await databaseFingerprint(t.databaseUrl), before);
  });
});

test("/health answers without a key", async () => {
  const res = await fetch(`${t.url}/health`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok", database: "up", isolation: "read_committed" });
});

test("a checkout session opens for a pending order", async () => {
  const res = await t.post(`/functions/v1/checkout-session/${orderId}`, "");
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.order_id, orderId);
  assert.equal(body.status, "open");
  assert.equal(body.amount_cents, 5000);
});

test("webhooks of other types are acknowledged and ignored", async () => {
  const res = await signedWebhook({ id: "evt_other", type: "charge.refunded", data: { order_id: orderId } });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { ignored: boolean }).ignored, true);
});
