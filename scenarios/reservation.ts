// The buyer's journey: reserve a seat (enhanced-checkout, with an Idempotency-Key), open the checkout
// session, then pay (signed provider webhook) or walk away, at the ratio PAY_RATIO, pausing THINK_TIME
// between steps. Sold out ends the iteration quietly: that is a legitimate answer, not a failure.
import type { LoadConfig } from "../lib/config.ts";
import { bodyField, checkout, pay, reserve } from "../lib/k6/api.ts";
import { uuid } from "../lib/k6/random.ts";
import type { SetupData } from "../lib/k6/setup.ts";
import { think, pickTier } from "./common.ts";

/** Reserve → checkout → pay or abandon; returns whether the seat was paid for. */
export function buyTicket(cfg: LoadConfig, data: SetupData, tierId: string, pause: boolean): boolean {
  const { reply, classification } = reserve(cfg, { event_id: data.eventId, tier_id: tierId, quantity: cfg.quantity, session_id: uuid() });
  if (classification.outcome !== "success") return false;
  const sessionUrl = bodyField(reply, "session_url");
  const orderId = bodyField(reply, "order_id");
  if (typeof sessionUrl !== "string" || typeof orderId !== "string") return false;
  if (pause) think(cfg);
  if (checkout(cfg, sessionUrl).status !== 200) return false;
  if (Math.random() >= cfg.payRatio) return false; // abandoned: the hold expires on its own
  if (pause) think(cfg);
  return pay(cfg, orderId).status === 200;
}

export function scenario(cfg: LoadConfig, data: SetupData): void {
  buyTicket(cfg, data, pickTier(data.tierIds), true);
  think(cfg);
}
