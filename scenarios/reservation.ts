// The buyer's journey: reserve a seat (enhanced-checkout, with an Idempotency-Key), open the checkout
// session, then pay (signed provider webhook) or walk away, at the ratio PAY_RATIO, pausing THINK_TIME
// between steps. Real drops add concurrency of their own, each at its ratio: a double-clicked reserve
// (DOUBLE_CLICK_RATIO), checkout resumed from a second tab (SECOND_TAB_RATIO), the provider delivering
// the webhook twice at once (WEBHOOK_REDELIVERY_RATIO), and scalper bots reserving for BOT_SESSIONS
// sessions at the same instant (BOT_RATIO). Sold out ends the iteration quietly: that is a legitimate
// answer, not a failure, and so is the second click's HOLD_EXISTS.
import type { VuConfig } from "../lib/vu-config.ts";
import {
  bodyField,
  checkout,
  pay,
  reserve,
  reserveAtOnce,
  reserveDoubleClick,
  resumeInSecondTab,
  type ReserveResult,
} from "../lib/k6/api.ts";
import { uuid } from "../lib/k6/random.ts";
import type { SetupData } from "../lib/k6/setup.ts";
import { chance, pickTier, think } from "./common.ts";

/** The click whose answer the browser keeps: the first one that took a hold, else the last answer. */
function kept(results: ReserveResult[]): ReserveResult {
  return results.find((r) => r.classification.outcome === "success") ?? results[results.length - 1]!;
}

/** Reserve → (second tab) → checkout → pay or abandon; returns whether the seat was paid for. */
export function buyTicket(cfg: VuConfig, data: SetupData, tierId: string, pause: boolean): boolean {
  const request = { event_id: data.eventId, tier_id: tierId, quantity: cfg.quantity, session_id: uuid() };
  // A double-click whose clicks both took a hold leaves the other one behind: teardown's
  // one_active_hold_per_session names it (unless it is paid or expires first).
  const { reply, classification } = chance(cfg.doubleClickRatio) ? kept(reserveDoubleClick(cfg, request)) : reserve(cfg, request);
  if (classification.outcome !== "success") return false;
  const sessionUrl = bodyField(reply, "session_url");
  const orderId = bodyField(reply, "order_id");
  const holdId = bodyField(reply, "hold_id");
  if (typeof sessionUrl !== "string" || typeof orderId !== "string") return false;
  if (typeof holdId === "string" && chance(cfg.secondTabRatio)) resumeInSecondTab(cfg, data.eventId, holdId, request.session_id, orderId);
  if (pause) think(cfg);
  if (checkout(cfg, sessionUrl).status !== 200) return false;
  if (!chance(cfg.payRatio)) return false; // abandoned: the hold expires on its own
  if (pause) think(cfg);
  return pay(cfg, orderId, chance(cfg.webhookRedeliveryRatio));
}

/** A scalper bot: every session it controls reserves the same tier at the same instant; it hoards the holds. */
export function scalp(cfg: VuConfig, data: SetupData): void {
  const tierId = pickTier(data.tierIds);
  const requests = [];
  for (let i = 0; i < cfg.botSessions; i++)
    requests.push({ event_id: data.eventId, tier_id: tierId, quantity: cfg.quantity, session_id: uuid() });
  reserveAtOnce(cfg, requests);
}

/** Whoever arrives next: a scalper bot at BOT_RATIO, otherwise a buyer. */
export function arrive(cfg: VuConfig, data: SetupData, pause: boolean): void {
  if (chance(cfg.botRatio)) scalp(cfg, data);
  else buyTicket(cfg, data, pickTier(data.tierIds), pause);
}

export function scenario(cfg: VuConfig, data: SetupData): void {
  arrive(cfg, data, true);
  think(cfg);
}
