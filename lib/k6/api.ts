// The VU's API client: every call of the flow over HTTP as docs/contract.md defines it, with the
// Supabase headers, an Idempotency-Key on every reserve, bounded retries with capped exponential backoff
// on 40001 / 40P01 / 503, and the metrics and checks of each step. Synchronous http.post on purpose:
// under k6 v0.49 it ran about 1.5x the request rate of `await http.asyncRequest` on the same machine.
// The reserve path is the load generator's hot path (docs/k6-generator.md): a plain sold-out answer
// recognised from its text and recorded in reserve() itself (each JS call costs goja microseconds), four
// samples per answer and no check, plain object literals (esbuild lowers `{...a}` for ES2017 to a helper
// that costs goja ~20 us a call), k6's res.json() for other answers, headers read only when asked for,
// and k6 modules imported by name (a default import makes esbuild's interop helper copy every export of
// k6/http, and goja then builds each of its native functions in every VU).
import { check, sleep } from "k6";
import { hmac } from "k6/crypto";
import { batch, expectedStatuses, get as httpGet, post as httpPost } from "k6/http";
import { backoffDelayMs, parseRetryAfter } from "../backoff.ts";
import { classify, isPlainSoldOutText, type Classification } from "../classify.ts";
import { RETRIES_HEADER, TAXONOMY, type TaxonomyCode } from "../errors.ts";
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
  durationMs: number;
  /** k6's transport error (`res.error_code`, `res.error`) when no answer came (status 0); 0 and "" otherwise. */
  errorCode: number;
  error: string;
  /** k6's response, for its headers and raw body: each read of one of its fields converts it from Go. */
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

/** The answer's raw text ("" when it had none), for messages. */
export function replyText(reply: Reply): string {
  const body = reply.res.body;
  return typeof body === "string" ? body : "";
}

/** The answer's JSON, or null. k6's own res.json() (Go's decoder) costs half of JSON.parse under k6 v0.49. */
function parseBody(res: Response): unknown {
  try {
    return res.json();
  } catch {
    return null; // no body, or not JSON
  }
}

// Every reply but reserve()'s plain sold-out answers passes here, and each read of a field of k6's
// response converts it from Go: read each field once, and k6's error fields only when no answer came.
function toReply(res: Response): Reply {
  const status = res.status;
  const timings = res.timings;
  const answered = status !== 0;
  return {
    status,
    body: parseBody(res),
    durationMs: timings ? timings.duration : 0,
    errorCode: answered ? 0 : (res.error_code ?? 0),
    error: answered ? "" : (res.error ?? ""),
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

/** No error code is legitimate: one shared list, where a fresh `[]` would allocate one per reserve. */
const NO_CODES: readonly string[] = [];

/** reserve_errors' tags, one object per code. */
const CODE_TAGS: Record<string, { code: string }> = {};

// 409 is a legitimate answer under contention (sold out, hold exists): not an http_req_failed.
const RESERVE_EXPECTED = expectedStatuses({ min: 200, max: 299 }, 409);

const RESERVE_TAGS = { name: "reserve" };

function reserveParams(cfg: VuConfig, idempotencyKey: string, expected: Params["responseCallback"], tags: Params["tags"]): Params {
  const key = cfg.anonKey;
  const headers = { apikey: key, Authorization: `Bearer ${key}`, "Content-Type": "application/json", "Idempotency-Key": idempotencyKey };
  return { headers, tags, responseCallback: expected };
}

const RESERVE_PATH = "/functions/v1/enhanced-checkout";

function reserveUrl(cfg: VuConfig): string {
  return `${cfg.supabaseUrl}${RESERVE_PATH}`;
}

/** The body every plain sold-out answer that reserve() recognises shares. */
const SOLD_OUT_BODY = Object.freeze({ error: TAXONOMY.INSUFFICIENT_INVENTORY });

/** One reserve attempt, nothing recorded: the raw call the retry loop and the idempotency replay share. */
export function sendReserve(cfg: VuConfig, body: string, idempotencyKey: string, expected = RESERVE_EXPECTED): Reply {
  return toReply(httpPost(reserveUrl(cfg), body, reserveParams(cfg, idempotencyKey, expected, RESERVE_TAGS)));
}

/**
 * The samples every reserve answer gets: its latency, its code in reserve_errors{code}, and in
 * reserve_conflicts one sample per database transaction it took (the server's 40001/40P01 retries, then
 * the answer's own).
 */
function recordAnswer(durationMs: number, code: TaxonomyCode | null, res: Response): void {
  m.reserveLatency.add(durationMs);
  if (code !== null) m.reserveErrors.add(1, codeTags(code));
  // k6 gives header names in Go's canonical form, RETRIES_HEADER's own, so one lookup reads it (header()
  // walks every name). No headers when no answer came (status 0); NaN where a backend does not send it.
  const retried = Number(res.headers?.[RETRIES_HEADER]);
  if (retried > 0) recordServerRetries(retried);
  m.reserveConflicts.add(code === TAXONOMY.SERIALIZATION || code === TAXONOMY.DEADLOCK);
}

function codeTags(code: TaxonomyCode): { code: string } {
  return CODE_TAGS[code] || (CODE_TAGS[code] = { code });
}

/**
 * The 40001/40P01s (at least one) the server met and retried before answering (X-Serialization-Retries),
 * one reserve_conflicts sample each.
 */
function recordServerRetries(retried: number): void {
  m.reserveSerializationRetries.add(retried);
  for (let n = retried; n > 0; n--) m.reserveConflicts.add(true);
}

/**
 * Records a first answer, retries it (same key) while it is retryable, and records the final outcome.
 * `legitimate` names error codes that are the expected answer here (HOLD_EXISTS for the second click of
 * a double-click): counted in reserve_errors{code}, never in reserve_failures.
 */
function settleReserve(cfg: VuConfig, body: string, idempotencyKey: string, first: Reply, legitimate: readonly string[]): ReserveResult {
  let reply = first;
  for (let attempt = 0; ; attempt++) {
    const classification = classify(reply);
    recordAnswer(reply.durationMs, classification.code, reply.res);
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

/** A usable answer: 200 with a session_url, or 409 naming its error code. */
function reserveAnswered(r: Reply): boolean {
  const body = r.body as Record<string, unknown> | null;
  if (body === null || typeof body !== "object") return false;
  return r.status === 200 ? typeof body.session_url === "string" : r.status === 409 && typeof body.error === "string";
}

const SOLD_OUT = classify({ status: 409, body: SOLD_OUT_BODY });
const SOLD_OUT_TAGS = codeTags(TAXONOMY.INSUFFICIENT_INVENTORY);

// Per VU: the last answer text isPlainSoldOutText() accepted. A backend repeats the same sold-out text
// (the same tier, the same request), and one comparison replaces that function's six string calls. A
// fresh object, not a string, so that no answer can equal it before the first one is accepted.
let acceptedSoldOutText: unknown = {};

/**
 * Reserve (+ pending order) with retries; records reserve_latency per attempt, reserve_errors{code} (sold
 * out included), reserve_conflicts, reserve_serialization_retries, retries and reserve_failures.
 * Most reserves of a drop get a plain sold-out answer, and under k6 v0.49 every JS call on the way costs
 * the load generator CPU (docs/k6-generator.md): that answer is recognised and recorded right here, with
 * the samples settleReserve() would record for it (a final, legitimate, usable answer), and shares one body.
 */
export function reserve(cfg: VuConfig, request: ReserveRequest): ReserveResult {
  const idempotencyKey = uuid();
  const body = JSON.stringify(request);
  // reserveUrl(cfg) spelled out: one call fewer on the hot path.
  const res = httpPost(`${cfg.supabaseUrl}${RESERVE_PATH}`, body, reserveParams(cfg, idempotencyKey, RESERVE_EXPECTED, RESERVE_TAGS));
  const text = res.status === 409 ? res.body : null;
  if (text !== acceptedSoldOutText) {
    if (typeof text !== "string" || !isPlainSoldOutText(text)) return settleReserve(cfg, body, idempotencyKey, toReply(res), NO_CODES);
    acceptedSoldOutText = text;
  }
  const durationMs = res.timings.duration;
  m.reserveLatency.add(durationMs);
  m.reserveErrors.add(1, SOLD_OUT_TAGS);
  const retried = Number(res.headers[RETRIES_HEADER]);
  if (retried > 0) recordServerRetries(retried);
  m.reserveConflicts.add(false);
  m.reserveFailures.add(false);
  const reply: Reply = { status: 409, body: SOLD_OUT_BODY, durationMs, errorCode: 0, error: "", res };
  return { reply, classification: SOLD_OUT, idempotencyKey, body };
}

/**
 * Several reserves sent at the same instant (http.batch), each with its own Idempotency-Key: a
 * double-clicked button (the same request twice) or a scalper bot's burst of sessions. `legitimate`
 * names the error codes that are the correct answer for some of them (HOLD_EXISTS for a second click).
 */
export function reserveAtOnce(
  cfg: VuConfig,
  requests: readonly ReserveRequest[],
  legitimate: readonly string[] = NO_CODES,
): ReserveResult[] {
  const bodies = requests.map((r) => JSON.stringify(r));
  const keys = bodies.map(() => uuid());
  const replies = batch(
    bodies.map((body, i) => ({
      method: "POST",
      url: reserveUrl(cfg),
      body,
      params: reserveParams(cfg, keys[i]!, RESERVE_EXPECTED, RESERVE_TAGS),
    })),
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
