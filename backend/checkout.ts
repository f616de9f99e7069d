// The shopper's two calls: enhanced-checkout (reserve + pending order, idempotent by key) and opening
// the payment session of that order. Framework-free: they take parsed input and return status + body,
// so the same code can sit behind Hono on Node or in a Supabase Edge Function.
import { UUID_PATTERN } from "../lib/uuid.ts";
import type { Caller } from "./auth.ts";
import type { Db } from "./db.ts";
import { invalidRequest } from "./http-errors.ts";
import { CHECKOUT_BODY_HINT, HoldCheckout, IDEMPOTENCY_KEY, ReserveCheckout } from "./schemas.ts";
import { requestHash, validate } from "./body.ts";
import { replyFromOutcome, withRetries, type Outcome, type Reply } from "./reply.ts";

/**
 * The key as stored: scoped to the caller's role and, for a signed-in user, their `sub`, so that one
 * caller's key can neither replay nor block another caller's request. Every anon caller holds the same
 * public key and so shares one scope; the request hash (session_id included) still has to match for a
 * replay. JSON keeps the three parts apart whatever characters they contain.
 */
function scopedIdempotencyKey(header: string | null, caller: Caller): string | null {
  if (header === null) return null;
  if (!IDEMPOTENCY_KEY.test(header)) {
    throw invalidRequest([{ field: "Idempotency-Key", problem: "must be 1 to 255 visible ASCII characters (a uuid works)" }]);
  }
  return JSON.stringify([caller.role, caller.subject, header]);
}

function validateCheckout(body: unknown) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidRequest([{ field: "(body)", problem: CHECKOUT_BODY_HINT }]);
  }
  return "hold_id" in body ? validate(HoldCheckout, body) : validate(ReserveCheckout, body);
}

/** POST /functions/v1/enhanced-checkout. `publicUrl` is where this API is reachable by the buyer. */
export async function enhancedCheckout(db: Db, publicUrl: string, body: unknown, keyHeader: string | null, caller: Caller): Promise<Reply> {
  const request = validateCheckout(body);
  const key = scopedIdempotencyKey(keyHeader, caller);
  const { rows, retries } = await db.retried<{ outcome: Outcome }>(
    "SELECT public.enhanced_checkout($1::jsonb, $2::text, $3::text) AS outcome",
    [JSON.stringify(request), key, key === null ? null : requestHash(request)],
  );
  const outcome = rows[0]!.outcome;
  const reply = replyFromOutcome(outcome, (o) => ({
    order_id: o.order_id,
    hold_id: o.hold_id,
    expires_at: o.expires_at,
    total_cents: o.total_cents,
    session_url: `${publicUrl}/functions/v1/checkout-session/${String(o.order_id)}`,
  }));
  // A stored outcome answered again, success or refusal alike, says so.
  if (outcome.replay) reply.headers = { ...reply.headers, "X-Idempotent-Replay": "true" };
  return withRetries(reply, retries);
}

/** POST /functions/v1/checkout-session/<order_id>: what the hosted payment page checks first. */
export async function openCheckoutSession(db: Db, orderId: string): Promise<Reply> {
  if (!UUID_PATTERN.test(orderId)) {
    throw invalidRequest([
      { field: "order_id", problem: "the path must end in the order's uuid (the session_url from enhanced-checkout)" },
    ]);
  }
  const { rows, retries } = await db.retried<{ outcome: Outcome }>("SELECT public.open_checkout_session($1::uuid) AS outcome", [orderId]);
  const reply = replyFromOutcome(rows[0]!.outcome, (o) => ({
    order_id: o.order_id,
    status: o.status,
    amount_cents: o.amount_cents,
    expires_at: o.expires_at,
  }));
  return withRetries(reply, retries);
}
