// Idempotency under load: each iteration reserves with a fresh Idempotency-Key, then sends the very
// same request with the same key again, which must answer the same status and body marked
// `X-Idempotent-Replay: true` (and create no second hold); the same key with another body must be
// refused with 422 IDEMPOTENCY_KEY_REUSED. Any mismatch counts as invariant_violations{check:idempotent_replay_consistent}.
import { check } from "k6";
import { expectedStatuses } from "k6/http";
import type { VuConfig } from "../lib/vu-config.ts";
import { bodyField, header, reserve, sendReserve } from "../lib/k6/api.ts";
import * as m from "../lib/k6/metrics.ts";
import { uuid } from "../lib/k6/random.ts";
import type { SetupData } from "../lib/k6/setup.ts";
import { pickTier, think } from "./common.ts";

const REUSE_EXPECTED = expectedStatuses(422);
const REPLAY_EXPECTED = expectedStatuses({ min: 200, max: 299 }, 409);

/** JSON with sorted keys: the stored replay (jsonb) may order keys differently from the first answer. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export function scenario(cfg: VuConfig, data: SetupData): void {
  const request = { event_id: data.eventId, tier_id: pickTier(data.tierIds), quantity: cfg.quantity, session_id: uuid() };
  const first = reserve(cfg, request);
  if (first.reply.status >= 500 || first.reply.status === 0) return; // 5xx outcomes are not stored: nothing to replay

  const replay = sendReserve(cfg, first.body, first.idempotencyKey, REPLAY_EXPECTED);
  const consistent = check(replay, {
    "replay: same status": (r) => r.status === first.reply.status,
    "replay: same body": (r) => r.body !== null && canonical(r.body) === canonical(first.reply.body),
    "replay: X-Idempotent-Replay true": (r) => header(r, "X-Idempotent-Replay") === "true",
  });

  const reused = sendReserve(
    cfg,
    JSON.stringify({ ...request, quantity: request.quantity === 1 ? 2 : 1 }),
    first.idempotencyKey,
    REUSE_EXPECTED,
  );
  const refused = check(reused, {
    "reuse: 422 IDEMPOTENCY_KEY_REUSED": (r) => r.status === 422 && bodyField(r, "error") === "IDEMPOTENCY_KEY_REUSED",
  });

  if (consistent) m.idempotentReplays.add(1);
  m.invariantViolations.add(consistent && refused ? 0 : 1, { check: "idempotent_replay_consistent" });
  think(cfg);
}
