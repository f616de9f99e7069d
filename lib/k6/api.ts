// The VU's API client: every call of the flow over HTTP as docs/contract.md defines it, with the
// Supabase headers, an Idempotency-Key on every reserve, bounded retries with capped exponential backoff
// on 40001 / 40P01 / 503, and the metrics and checks of each step. Synchronous http.post on purpose:
// it is much faster than asyncRequest in k6 (see /work/shared/k6-runtime.md).
import { check, sleep } from "k6";
import { hmac } from "k6/crypto";
import http from "k6/http";
import { backoffDelayMs, parseRetryAfter } from "../backoff.ts";
import { classify, type Classification } from "../classify.ts";
import type { LoadConfig } from "../config.ts";
import { isObject, parseJsonOrNull } from "../json.ts";
import { WEBHOOK_SIGNATURE_HEADER } from "../local-target.ts";
import * as m from "./metrics.ts";
import { uuid } from "./random.ts";

export interface Reply {
  status: number;
  body: unknown;
  text: string;
  headers: Record<string, string>;
  durationMs: number;
  errorCode: number;
  error: string;
}

type Params = NonNullable<Parameters<typeof http.post>[2]>;

export function header(reply: Reply, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(reply.headers)) if (key.toLowerCase() === wanted) return reply.headers[key];
  return undefined;
}

export function bodyField(reply: Reply, name: string): unknown {
  return isObject(reply.body) ? reply.body[name] : undefined;
}

function toReply(res: ReturnType<typeof http.post>): Reply {
  const text = typeof res.body === "string" ? res.body : "";
  return {
    status: res.status,
    body: parseJsonOrNull(text),
    text,
    headers: (res.headers ?? {}) as Record<string, string>,
    durationMs: res.timings ? res.timings.duration : 0,
    errorCode: res.error_code ?? 0,
    error: res.error ?? "",
  };
}

function keyHeaders(key: string): Record<string, string> {
  return { apikey: key, Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
}

export function post(url: string, body: string, params: Params): Reply {
  return toReply(http.post(url, body, params));
}

export function get(url: string, params: Params): Reply {
  return toReply(http.get(url, params));
}

/** A PostgREST-shaped RPC with the service role key (setup, teardown). */
export function rpc(cfg: LoadConfig, fn: string, args: Record<string, unknown>): Reply {
  return post(`${cfg.supabaseUrl}/rest/v1/rpc/${fn}`, JSON.stringify(args), {
    headers: keyHeaders(cfg.serviceRoleKey ?? cfg.anonKey),
    tags: { name: `rpc:${fn}` },
  });
}

export function healthCheck(cfg: LoadConfig): Reply {
  return get(`${cfg.supabaseUrl}/health`, { headers: keyHeaders(cfg.anonKey), tags: { name: "health" }, timeout: "10s" });
}

export interface ReserveRequest {
  event_id: string;
  tier_id: string;
  quantity: number;
  session_id: string;
}

export interface ReserveResult {
  reply: Reply;
  classification: Classification;
  idempotencyKey: string;
  /** The exact body sent, for a replay. */
  body: string;
}

// 409 is a legitimate answer under contention (sold out, hold exists): not an http_req_failed.
const RESERVE_EXPECTED = http.expectedStatuses({ min: 200, max: 299 }, 409);

/** One reserve attempt, nothing recorded: the raw call the retry loop and the idempotency replay share. */
export function sendReserve(cfg: LoadConfig, body: string, idempotencyKey: string, expected = RESERVE_EXPECTED): Reply {
  return post(`${cfg.supabaseUrl}/functions/v1/enhanced-checkout`, body, {
    headers: { ...keyHeaders(cfg.anonKey), "Idempotency-Key": idempotencyKey },
    tags: { name: "reserve" },
    responseCallback: expected,
  });
}

/** Reserve (+ pending order) with retries; records reserve_latency per attempt, reserve_errors{code}, retries, failures and sold-out. */
export function reserve(cfg: LoadConfig, request: ReserveRequest, idempotencyKey: string = uuid()): ReserveResult {
  const body = JSON.stringify(request);
  let attempt = 0;
  for (;;) {
    const reply = sendReserve(cfg, body, idempotencyKey);
    const classification = classify(reply);
    m.reserveLatency.add(reply.durationMs);
    if (classification.code !== null) m.reserveErrors.add(1, { code: classification.code });
    if (classification.retryable && attempt < cfg.maxRetries) {
      m.retries.add(1);
      sleep(backoffDelayMs(attempt, Math.random, parseRetryAfter(header(reply, "Retry-After"))) / 1000);
      attempt++;
      continue;
    }
    m.reserveFailures.add(classification.outcome === "error");
    m.soldOut.add(classification.outcome === "sold_out");
    check(reply, {
      "reserve: status 200 or 409": (r) => r.status === 200 || r.status === 409,
      "reserve: has session_url or error": (r) => typeof bodyField(r, "session_url") === "string" || typeof bodyField(r, "error") === "string",
    });
    return { reply, classification, idempotencyKey, body };
  }
}

/** Resolves a session_url the API may give as a path. */
export function absoluteUrl(cfg: LoadConfig, url: string): string {
  if (/^https?:\/\//i.test(url)) return url;
  return `${cfg.supabaseUrl}${url.startsWith("/") ? "" : "/"}${url}`;
}

export function checkout(cfg: LoadConfig, sessionUrl: string): Reply {
  const reply = post(absoluteUrl(cfg, sessionUrl), "{}", { headers: keyHeaders(cfg.anonKey), tags: { name: "checkout" } });
  m.checkoutLatency.add(reply.durationMs);
  check(reply, { "checkout: status 200": (r) => r.status === 200 });
  return reply;
}

/** The payment provider's webhook: body signed with HMAC-SHA256 of WEBHOOK_SECRET. */
export function pay(cfg: LoadConfig, orderId: string): Reply {
  const body = JSON.stringify({ id: `evt_${uuid()}`, type: "checkout.session.completed", data: { order_id: orderId } });
  const signature = `sha256=${hmac("sha256", cfg.webhookSecret, body, "hex")}`;
  const reply = post(`${cfg.supabaseUrl}/functions/v1/payment-webhook`, body, {
    headers: { ...keyHeaders(cfg.anonKey), [WEBHOOK_SIGNATURE_HEADER]: signature },
    tags: { name: "payment" },
  });
  m.paymentLatency.add(reply.durationMs);
  check(reply, {
    "payment: status 200": (r) => r.status === 200,
    "payment: order paid": (r) => bodyField(r, "status") === "paid",
  });
  return reply;
}
