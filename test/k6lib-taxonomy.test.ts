// Every response must land in the right taxonomy bucket (sold out is an outcome, not a failure), only
// 40001 / 40P01 / 503 are retried, and the backoff stays capped at 1 s.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BACKOFF_CAP_MS, backoffDelayMs, parseRetryAfter } from "../lib/backoff.ts";
import { classify, isPlainSoldOutText, TAXONOMY_CODES, TAXONOMY_LABELS } from "../lib/classify.ts";
import { TAXONOMY } from "../lib/errors.ts";
import { uuidV4FromBytes } from "../lib/uuid.ts";

const err = (status: number, error: string, extra: Record<string, unknown> = {}) => ({ status, body: { error, message: "m", ...extra } });

test("success and legitimate sold-out", () => {
  assert.deepEqual(classify({ status: 200, body: { session_url: "/x" } }), { outcome: "success", code: null, retryable: false });
  assert.deepEqual(classify(err(409, "INSUFFICIENT_INVENTORY")), {
    outcome: "sold_out",
    code: TAXONOMY.INSUFFICIENT_INVENTORY,
    retryable: false,
  });
});

test("a sold-out answer is recognised from its text only where its JSON classifies as sold out", () => {
  const soldOut = classify(err(409, "INSUFFICIENT_INVENTORY"));
  const recognised = [
    '{"error":"INSUFFICIENT_INVENTORY","message":"0 ticket(s) left, 1 requested"}',
    '{"error":"INSUFFICIENT_INVENTORY","message":"sold out","left":0,"detail":{"tier":"t1"}}',
  ];
  for (const text of recognised) {
    assert.equal(isPlainSoldOutText(text), true, text);
    assert.equal(classify({ status: 409, body: JSON.parse(text) }), soldOut, text);
  }
  const parsedInstead = [
    '{"error":"INSUFFICIENT_INVENTORY","sqlstate":"40001","message":"m"}',
    '{"error":"INSUFFICIENT_INVENTORY","code":"23505","message":"m"}',
    '{"error":"INSUFFICIENT_INVENTORY","message":"m","error":"HOLD_EXISTS"}',
    '{"error":"INSUFFICIENT_INVENTORY","\\u0063ode":"23505"}',
    '{"error":"INSUFFICIENT_INVENTORY","message":"a \\"quoted\\" word"}',
    '{"message":"m","error":"INSUFFICIENT_INVENTORY"}',
    '{ "error": "INSUFFICIENT_INVENTORY", "message": "m" }',
    '{"error":"INSUFFICIENT_INVENTORY","message":"cut sh',
    '{"error":"INSUFFICIENT_INVENTORY_X","message":"m"}',
  ];
  for (const text of parsedInstead) assert.equal(isPlainSoldOutText(text), false, text);
  // A repeated or escaped key changes what the JSON says: the reason the text test refuses them.
  assert.equal(classify({ status: 409, body: JSON.parse(parsedInstead[3]!) }).code, "23505");
  assert.equal(classify({ status: 409, body: JSON.parse(parsedInstead[2]!) }).code, "HOLD_EXISTS");
});

test("database errors by SQLSTATE, from the target's sqlstate or PostgREST's code", () => {
  assert.deepEqual(classify(err(503, "SERIALIZATION_FAILURE", { sqlstate: "40001" })), {
    outcome: "error",
    code: "40001",
    retryable: true,
  });
  assert.equal(classify(err(503, "SERIALIZATION_FAILURE")).code, "40001");
  assert.deepEqual(classify({ status: 500, body: { code: "40P01", message: "deadlock" } }), {
    outcome: "error",
    code: "40P01",
    retryable: true,
  });
  assert.equal(classify({ status: 409, body: { code: "23505", message: "dup" } }).code, "23505");
  assert.equal(classify({ status: 400, body: { code: "23514", message: "check" } }).code, "23514");
  assert.equal(classify({ status: 400, body: { code: "PGRST202", message: "x" } }).code, "4xx", "non-SQLSTATE codes are ignored");
});

test("business errors, HTTP classes and transport failures", () => {
  assert.equal(classify(err(410, "HOLD_EXPIRED")).code, "HOLD_EXPIRED");
  assert.equal(classify(err(409, "HOLD_EXISTS")).code, "HOLD_EXISTS");
  assert.equal(classify(err(422, "IDEMPOTENCY_KEY_REUSED")).code, "IDEMPOTENCY_KEY_REUSED");
  assert.deepEqual(classify(err(503, "SERVICE_UNAVAILABLE")), { outcome: "error", code: "503", retryable: true });
  assert.deepEqual(classify(err(400, "INVALID_REQUEST")), { outcome: "error", code: "4xx", retryable: false });
  assert.deepEqual(classify({ status: 502, body: null }), { outcome: "error", code: "5xx", retryable: false });
  assert.deepEqual(classify({ status: 0, body: null, errorCode: 1212, error: "dial: connection refused" }), {
    outcome: "error",
    code: "network",
    retryable: false,
  });
  assert.equal(classify({ status: 0, body: null, errorCode: 1050, error: "request timeout" }).code, "timeout");
  assert.equal(classify({ status: 404, body: "not json" }).code, "4xx");
});

test("every taxonomy code has a label", () => {
  assert.equal(TAXONOMY_CODES.length, Object.keys(TAXONOMY).length);
  for (const code of TAXONOMY_CODES) assert.ok(TAXONOMY_LABELS[code]);
});

test("backoff grows exponentially with jitter and never exceeds 1 s", () => {
  const low = () => 0;
  const high = () => 0.999999;
  assert.equal(backoffDelayMs(0, low), 25);
  assert.ok(Math.abs(backoffDelayMs(0, high) - 50) < 0.01);
  assert.equal(backoffDelayMs(3, low), 200);
  for (let attempt = 0; attempt < 30; attempt++) {
    for (const r of [low, high, Math.random]) assert.ok(backoffDelayMs(attempt, r) <= BACKOFF_CAP_MS);
  }
  assert.equal(backoffDelayMs(10, low), 500, "the cap applies before jitter");
  assert.equal(backoffDelayMs(0, low, 0.5), 500, "Retry-After raises the delay");
  assert.equal(backoffDelayMs(0, low, 30), BACKOFF_CAP_MS, "but never above the cap");
  assert.equal(parseRetryAfter("2"), 2);
  assert.equal(parseRetryAfter(" 0.5 "), 0.5);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test("UUID v4 from random bytes, read at an offset", () => {
  const id = uuidV4FromBytes(new Uint8Array(16).fill(0xff), 0);
  assert.equal(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
  assert.match(uuidV4FromBytes(new Uint8Array(16), 0), /^00000000-0000-4000-8000-000000000000$/);
  const drawn = Uint8Array.from({ length: 48 }, (_, i) => i);
  assert.equal(uuidV4FromBytes(drawn, 16), "10111213-1415-4617-9819-1a1b1c1d1e1f");
  assert.equal(uuidV4FromBytes(drawn, 32), "20212223-2425-4627-a829-2a2b2c2d2e2f");
  assert.throws(() => uuidV4FromBytes([1, 2, 3], 0), /16 random bytes from offset 0, got 3/);
  assert.throws(() => uuidV4FromBytes(drawn, 40), /16 random bytes from offset 40, got 8/);
  assert.throws(() => uuidV4FromBytes(drawn, -1), /16 random bytes/);
});
