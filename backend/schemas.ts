// The request bodies the API accepts, as zod schemas whose messages say how to fix the input. Checkout
// bodies are strict (an unexpected field is named in the 400); webhook bodies are not, because payment
// providers add fields of their own.
import { z } from "zod";

const uuid = (name: string) =>
  z.string({ required_error: "required", invalid_type_error: `${name} must be a uuid string` }).uuid(`${name} must be a uuid`);

const sessionId = z
  .string({ required_error: "required", invalid_type_error: "session_id must be a string" })
  .min(1, "session_id must be 1 to 128 characters")
  .max(128, "session_id must be 1 to 128 characters");

const quantity = z
  .number({ required_error: "required", invalid_type_error: "quantity must be a whole number from 1 to 10" })
  .int("quantity must be a whole number from 1 to 10")
  .min(1, "quantity must be a whole number from 1 to 10")
  .max(10, "quantity must be a whole number from 1 to 10");

/** New reservation and checkout in one call. `user_id` is optional and passed through to the SQL. */
export const ReserveCheckout = z
  .object({ event_id: uuid("event_id"), tier_id: uuid("tier_id"), quantity, session_id: sessionId, user_id: uuid("user_id").optional() })
  .strict();

/** Checkout of a hold the session already has. */
export const HoldCheckout = z.object({ event_id: uuid("event_id"), hold_id: uuid("hold_id"), session_id: sessionId }).strict();

export const CHECKOUT_BODY_HINT =
  "the body must be a JSON object {event_id, tier_id, quantity, session_id} or {event_id, hold_id, session_id}";

export const WebhookEnvelope = z.object({
  id: z.string({ required_error: "required", invalid_type_error: "id must be a string" }).min(1).max(255),
  type: z.string({ required_error: "required", invalid_type_error: "type must be a string" }).min(1).max(255),
});

export const CompletedSession = z.object({ data: z.object({ order_id: uuid("order_id") }) });

export const PAID_EVENT_TYPE = "checkout.session.completed";

/** Idempotency-Key: 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
