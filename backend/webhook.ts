// The simulated payment provider's delivery check: an HMAC-SHA256 of the exact raw bytes received,
// compared in constant time before the body is even parsed, so only the provider can mark orders paid.
import { createHmac, timingSafeEqual } from "node:crypto";
import { WEBHOOK_SIGNATURE_HEADER } from "../lib/local-target.ts";
import { parseJson, validate } from "./body.ts";
import type { Db } from "./db.ts";
import { apiError } from "./http-errors.ts";
import { replyFromOutcome, withRetries, type Outcome, type Reply } from "./reply.ts";
import { CompletedSession, PAID_EVENT_TYPE, WebhookEnvelope } from "./schemas.ts";

export function signPayload(secret: string, raw: Uint8Array | string): string {
  return `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;
}

/** Throws 401 INVALID_SIGNATURE unless `header` is `sha256=<hex>` of `raw` under `secret`. */
function verifySignature(secret: string, raw: Uint8Array, header: string | null): void {
  const m = header ? /^sha256=([0-9a-f]{64})$/i.exec(header.trim()) : null;
  if (!m) {
    throw apiError("INVALID_SIGNATURE", `send the header ${WEBHOOK_SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body>`);
  }
  const given = Buffer.from(m[1]!, "hex");
  const expected = createHmac("sha256", secret).update(raw).digest();
  if (!timingSafeEqual(given, expected)) {
    throw apiError("INVALID_SIGNATURE", "the signature does not match the body and the webhook secret");
  }
}

/** POST /functions/v1/payment-webhook: verify, then complete the order's payment exactly once. */
export async function paymentWebhook(db: Db, secret: string, raw: Uint8Array, signature: string | null): Promise<Reply> {
  verifySignature(secret, raw, signature);
  const body = parseJson(raw);
  const envelope = validate(WebhookEnvelope, body);
  if (envelope.type !== PAID_EVENT_TYPE) return { status: 200, body: { ignored: true, type: envelope.type } };
  const { data } = validate(CompletedSession, body);
  const { rows, retries } = await db.retried<{ outcome: Outcome }>("SELECT public.complete_payment($1::uuid, $2::text) AS outcome", [
    data.order_id,
    envelope.id,
  ]);
  const reply = replyFromOutcome(rows[0]!.outcome, (o) => ({
    order_id: o.order_id,
    status: o.status,
    tickets_issued: o.tickets_issued,
    replay: o.replay,
  }));
  return withRetries(reply, retries);
}
