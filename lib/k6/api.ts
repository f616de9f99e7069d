// The VU's API client: every call of the flow over HTTP as docs/contract.md defines it, with the
// Supabase headers, an Idempotency-Key on every reserve, bounded retries with capped exponential backoff
// on 40001 / 40P01 / 503, and the metrics and checks of each step. Synchronous http.post on purpose:
// under k6 v0.49 it ran about 1.5x the request rate of `await http.asyncRequest` on the same machine.
// The reserve path is the load generator's hot path (docs/k6-generator.md): three samples per answer
// and no check, plain object literals (esbuild lowers `{...a}` for ES2017 to a helper that costs goja
// ~20 us a call), k6's res.json(), headers read only when asked for, and k6 modules imported by name
// (a default import makes esbuild's interop helper copy every export of k6/http, and goja then builds
// each of its native functions in every VU).
import { check, sleep } from "k6";
import { hmac } from "k6/crypto";
import { batch, expectedStatuses, get as httpGet, post as httpPost } from "k6/http";
import { backoffDelayMs, parseRetryAfter } from "../backoff.ts";
import { classify, type Classification } from "../classify.ts";
import { RETRIES_HEADER, TAXONOMY } from "../errors.ts";
import type { LoadConfig } from "../config.ts";
import type { VuConfig } from "../vu-config.ts";
import { isObject } from "../json.ts";
import { WEBHOOK_SIGNATURE_HEADER } from "../local-target.ts";
import * as m from "./metrics.ts";
import { uuid } from "./random.ts";

type Response = ReturnType<typeof httpPost>;

export interface Reply {
  status: number;
  body: unknown;
  text: string;
  durationMs: number;
  errorCode: number;
  error: string;
  /** k6's response, for its headers: goja builds that object on each read, so only header() reads it. */
  res: Response;
}

type Params = NonNullable<Parameters<typeof httpPost>[2]>;

export function header(reply: Reply, name: string): string | undefined {
  const headers = (reply.res.headers ?? {}) as Record<string, string>;
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) if (key.toLowerCase() === wanted) return headers[key];
  return undefined;
}

export function bodyField(reply: Reply, name: string): unknown {
  return isObject(reply.body) ? reply.body[name] : undefined;
}

function toReply(res: Response): Reply {
  const text = typeof res.body === "string" ? res.body : "";
  let body: unknown = null;
  // k6's own res.json() (Go's decoder) costs half of JSON.parse under k6 v0.49's interpreter.
  if (text !== "") {
    try {
      body = res.json();
    } catch {
      body = null;
    }
  }
  return {
    status: res.status,
    body,
    text,
    durationMs: res.timings ? res.timings.duration : 0,
    errorCode: res.error_code ?? 0,
    error: res.error ?? "",
    res,
  };
}

function keyHeaders(key: string): Record<string, string> {
  return { apikey: key, Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
}

function post(url: string, body: string, params: Params): Reply {
  return toReply(httpPost(url, body, params));
}

function get(url: string, params: Params): Reply {
  return toReply(httpGet(url, params));
}

/** A PostgREST-shaped RPC with the service role key (setup, teardown). */
export function rpc(cfg: LoadConfig, fn: string, args: Record<string, unknown>): Reply {
  return post(`${cfg.supabaseUrl}/rest/v1/rpc/${fn}`, JSON.stringify(args), {
    headers: keyHeaders(cfg.serviceRoleKey ?? cfg.anonKey),
    tags: { name: `rpc:${fn}` },
  });
}

export function healthCheck(cfg: Pick<VuConfig, "supabaseUrl" | "anonKey">): Reply {
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

/** reserve_errors' tags, one object per code. */
const CODE_TAGS: Record<string, { code: string }> = {};

// 409 is a legitimate answer under contention (sold out, hold exists): not an http_req_failed.
const RESERVE_EXPECTED = expectedStatuses({ min: 200, max: 299 }, 409);

const RESERVE_TAGS = { name: "reserve" };

function reserveParams(cfg: VuConfig, idempotencyKey: string, expected: Params["responseCallback"], tags = RESERVE_TAGS): Params {
  const key = cfg.anonKey;
  const headers = { apikey: key, Authorization: `Bearer ${key}`, "Content-Type": "application/json", "Idempotency-Key": idempotencyKey };
  return { headers, tags, responseCallback: expected };
}

function reserveUrl(cfg: VuConfig): string {
  return `${cfg.supabaseUrl}/functions/v1/enhanced-checkout`;
}

/** One reserve attempt, nothing recorded: the raw call the retry loop and the idempotency replay share. */
export function sendReserve(cfg: VuConfig, body: string, idempotencyKey: string, expected = RESERVE_EXPECTED): Reply {
  return toReply(httpPost(reserveUrl(cfg), body, reserveParams(cfg, idempotencyKey, expected)));
}

/**
 * Records a first answer, retries it (same key) while it is retryable, and records the final outcome.
 * `legitimate` names error codes that are the expected answer here (HOLD_EXISTS for the second click of
 * a double-click): counted in reserve_errors{code}, never in reserve_failures.
 */
function settleReserve(
  cfg: VuConfig,
  body: string,
  idempotencyKey: string,
  first: Reply,
  legitimate: readonly string[] = [],
): ReserveResult {
  let reply = first;
  for (let attempt = 0; ; attempt++) {
    const classification = classify(reply);
    const code = classification.code;
    m.reserveLatency.add(reply.durationMs);
    if (code !== null) m.reserveErrors.add(1, CODE_TAGS[code] || (CODE_TAGS[code] = { code }));
    const retried = serverRetries(reply);
    if (retried > 0) {
      m.reserveSerializationRetries.add(retried);
      for (let n = retried; n > 0; n--) m.reserveConflicts.add(true);
    }
    m.reserveConflicts.add(code === TAXONOMY.SERIALIZATION || code === TAXONOMY.DEADLOCK);
    if (classification.retryable && attempt < cfg.maxRetries) {
      m.retries.add(1);
      sleep(backoffDelayMs(attempt, Math.random, parseRetryAfter(header(reply, "Retry-After"))) / 1000);
      reply = sendReserve(cfg, body, idempotencyKey);
      continue;
    }
    // A failure is any final answer that is neither a reservation with its session_url nor a refusal
    // that names its reason and is legitimate here: the one sample replaces a check per reserve.
    const legit = classification.outcome !== "error" || (classification.code !== null && legitimate.includes(classification.code));
    m.reserveFailures.add(!(legit && reserveAnswered(reply)));
    return { reply, classification, idempotencyKey, body };
  }
}

/**
 * The 40001/40P01 retries the server spent before this answer (X-Serialization-Retries; 0 where a backend
 * does not send it). k6 gives header names in Go's canonical form, RETRIES_HEADER's own, so one lookup
 * does, where header() walks every name.
 */
function serverRetries(reply: Reply): number {
  const n = Number(reply.res.headers?.[RETRIES_HEADER]);
  return Math.max(n, 0);
}

/** A usable answer: 200 with a session_url, or 409 naming its error code. */
function reserveAnswered(r: Reply): boolean {
  const body = r.body as Record<string, unknown> | null;
  if (body === null || typeof body !== "object") return false;
  return r.status === 200 ? typeof body.session_url === "string" : r.status === 409 && typeof body.error === "string";
}

/** Reserve (+ pending order) with retries; records reserve_latency per attempt, reserve_errors{code} (sold out included), reserve_conflicts, reserve_serialization_retries, retries and reserve_failures. */
export function reserve(cfg: VuConfig, request: ReserveRequest, idempotencyKey: string = uuid()): ReserveResult {
  const body = JSON.stringify(request);
  return settleReserve(cfg, body, idempotencyKey, sendReserve(cfg, body, idempotencyKey));
}

/**
 * Several reserves sent at the same instant (http.batch), each with its own Idempotency-Key: a
 * double-clicked button (the same request twice) or a scalper bot's burst of sessions. `legitimate`
 * names the error codes that are the correct answer for some of them (HOLD_EXISTS for a second click).
 */
export function reserveAtOnce(cfg: VuConfig, requests: readonly ReserveRequest[], legitimate: readonly string[] = []): ReserveResult[] {
  const bodies = requests.map((r) => JSON.stringify(r));
  const keys = bodies.map(() => uuid());
  const replies = batch(
    bodies.map((body, i) => ({ method: "POST", url: reserveUrl(cfg), body, params: reserveParams(cfg, keys[i]!, RESERVE_EXPECTED) })),
  );
  return replies.map((res, i) => settleReserve(cfg, bodies[i]!, keys[i]!, toReply(res), legitimate));
}

/** A double-clicked "reserve": at most one click may take a hold; the other's HOLD_EXISTS is correct. */
export function reserveDoubleClick(cfg: VuConfig, request: ReserveRequest): ReserveResult[] {
  return reserveAtOnce(cfg, [request, request], [TAXONOMY.HOLD_EXISTS]);
}

const SECOND_TAB_TAGS = { name: "second_tab" };

/**
 * The buyer resumes checkout of its hold from a second tab while the first is still open: two concurrent
 * `enhanced-checkout {event_id, hold_id, session_id}`. Both must land on the order the hold already has.
 */
export function resumeInSecondTab(cfg: VuConfig, eventId: string, holdId: string, sessionId: string, orderId: string): void {
  const body = JSON.stringify({ event_id: eventId, hold_id: holdId, session_id: sessionId });
  const tabs = batch(
    [uuid(), uuid()].map((key) => ({
      method: "POST",
      url: reserveUrl(cfg),
      body,
      params: reserveParams(cfg, key, undefined, SECOND_TAB_TAGS),
    })),
  );
  for (const res of tabs) {
    const reply = toReply(res);
    m.checkoutLatency.add(reply.durationMs);
    m.checkoutFailures.add(reply.status !== 200);
    check(reply, {
      "second tab: status 200": (r) => r.status === 200,
      "second tab: same order as the first tab": (r) => bodyField(r, "order_id") === orderId,
    });
  }
}

/** Resolves a session_url the API may give as a path. */
function absoluteUrl(cfg: VuConfig, url: string): string {
  if (/^https?:\/\//i.test(url)) return url;
  return `${cfg.supabaseUrl}${url.startsWith("/") ? "" : "/"}${url}`;
}

export function checkout(cfg: VuConfig, sessionUrl: string): Reply {
  const reply = post(absoluteUrl(cfg, sessionUrl), "{}", { headers: keyHeaders(cfg.anonKey), tags: { name: "checkout" } });
  m.checkoutLatency.add(reply.durationMs);
  m.checkoutFailures.add(reply.status !== 200);
  check(reply, { "checkout: status 200": (r) => r.status === 200 });
  return reply;
}

/** One delivery's verdict: paid (first time or replay), recorded in payment_latency/payment_failures and checks. */
function recordPayment(reply: Reply): boolean {
  m.paymentLatency.add(reply.durationMs);
  const paid = reply.status === 200 && bodyField(reply, "status") === "paid";
  m.paymentFailures.add(!paid);
  check(reply, {
    "payment: status 200": (r) => r.status === 200,
    "payment: order paid": (r) => bodyField(r, "status") === "paid",
  });
  return paid;
}

/**
 * The payment provider's webhook: body signed with HMAC-SHA256 of WEBHOOK_SECRET. Providers deliver at
 * least once; with `redeliver` the same event arrives twice at once (http.batch), and exactly one of the
 * two may be the first payment: the other must answer as a replay.
 */
export function pay(cfg: VuConfig, orderId: string, redeliver = false): boolean {
  const body = JSON.stringify({ id: `evt_${uuid()}`, type: "checkout.session.completed", data: { order_id: orderId } });
  const signature = `sha256=${hmac("sha256", cfg.webhookSecret, body, "hex")}`;
  const url = `${cfg.supabaseUrl}/functions/v1/payment-webhook`;
  const headers = keyHeaders(cfg.anonKey);
  headers[WEBHOOK_SIGNATURE_HEADER] = signature;
  const params: Params = { headers, tags: { name: "payment" } };
  if (!redeliver) return recordPayment(post(url, body, params));

  const replies = batch([0, 1].map(() => ({ method: "POST", url, body, params }))).map(toReply);
  const outcomes = replies.map(recordPayment);
  check(replies, {
    "payment: a duplicate delivery charges once": (rs) => rs.filter((r) => bodyField(r, "replay") === false).length === 1,
  });
  return outcomes.some(Boolean);
}
