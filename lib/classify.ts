// Puts every API response into the Liventix Advanced Load Testing Guide's error taxonomy (lib/errors.ts TAXONOMY), so
// that `reserve_errors{code}` and the summary's taxonomy table agree on what went wrong, and decides
// which failures are worth a retry. Legitimate sold-out is an outcome of its own, never a failure.
// Pure module: no k6 import; the k6 client hands it plain values.
import { TAXONOMY, type TaxonomyCode } from "./errors.ts";
import { isObject } from "./json.ts";

/** What the client saw: a status, a parsed body (null when not JSON) and k6's transport error, if any. */
export interface ObservedResponse {
  status: number;
  body: unknown;
  /** k6 `res.error_code`: 0 on success, 1050 request timeout, 12xx TCP errors, … */
  errorCode?: number;
  error?: string;
}

type Outcome = "success" | "sold_out" | "error";

export interface Classification {
  readonly outcome: Outcome;
  /** Taxonomy bucket; null on success. */
  readonly code: TaxonomyCode | null;
  /** Worth another attempt with the same Idempotency-Key (40001, 40P01, 503). */
  readonly retryable: boolean;
}

// k6 error codes that mean "no answer in time": 1050 request timeout, 1211 dial timeout.
const TIMEOUT_ERROR_CODES = new Set([1050, 1211]);

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE behind an error: the target's `sqlstate`, or PostgREST's `code`. */
function sqlstateOf(body: Record<string, unknown>): string | undefined {
  const s = text(body.sqlstate) ?? text(body.code);
  return s !== undefined && SQLSTATE.test(s) ? s : undefined;
}

const RETRYABLE: readonly TaxonomyCode[] = [TAXONOMY.SERIALIZATION, TAXONOMY.DEADLOCK, TAXONOMY.SERVICE_UNAVAILABLE];
const SUCCESS: Classification = Object.freeze({ outcome: "success", code: null, retryable: false });
// One shared answer per code: classify() runs on every response of the load generator's hot path.
const BY_CODE = Object.fromEntries(
  Object.values(TAXONOMY).map((code) => [
    code,
    Object.freeze({ outcome: code === TAXONOMY.INSUFFICIENT_INVENTORY ? "sold_out" : "error", code, retryable: RETRYABLE.includes(code) }),
  ]),
) as Record<TaxonomyCode, Classification>;

function classifyCode(res: ObservedResponse): TaxonomyCode {
  if (res.status === 0) {
    const timedOut = TIMEOUT_ERROR_CODES.has(res.errorCode ?? -1) || /timeout/i.test(res.error ?? "");
    return timedOut ? TAXONOMY.TIMEOUT : TAXONOMY.NETWORK;
  }
  const body = isObject(res.body) ? res.body : {};
  const error = text(body.error);
  const sqlstate = sqlstateOf(body);
  if (sqlstate === "40001" || error === "SERIALIZATION_FAILURE") return TAXONOMY.SERIALIZATION;
  if (sqlstate === "40P01") return TAXONOMY.DEADLOCK;
  if (sqlstate === "23505") return TAXONOMY.UNIQUE_VIOLATION;
  if (sqlstate === "23514") return TAXONOMY.CHECK_VIOLATION;
  if (res.status === 503) return TAXONOMY.SERVICE_UNAVAILABLE;
  switch (error) {
    case "INSUFFICIENT_INVENTORY":
      return TAXONOMY.INSUFFICIENT_INVENTORY;
    case "HOLD_EXPIRED":
      return TAXONOMY.HOLD_EXPIRED;
    case "HOLD_EXISTS":
      return TAXONOMY.HOLD_EXISTS;
    case "IDEMPOTENCY_KEY_REUSED":
      return TAXONOMY.IDEMPOTENCY_KEY_REUSED;
  }
  return res.status >= 500 ? TAXONOMY.SERVER_ERROR : TAXONOMY.CLIENT_ERROR;
}

const SOLD_OUT = BY_CODE[TAXONOMY.INSUFFICIENT_INVENTORY];

export function classify(res: ObservedResponse): Classification {
  if (res.status >= 200 && res.status < 300) return SUCCESS;
  // The answer most reserves get in a race, first.
  const body = res.body as Record<string, unknown> | null;
  if (
    res.status === 409 &&
    body !== null &&
    body.error === "INSUFFICIENT_INVENTORY" &&
    body.sqlstate === undefined &&
    body.code === undefined
  )
    return SOLD_OUT;
  return BY_CODE[classifyCode(res)];
}

const PLAIN_SOLD_OUT_PREFIX = `{"error":"${TAXONOMY.INSUFFICIENT_INVENTORY}",`;

/**
 * True when a 409's raw text is a sold-out answer that classify() puts in INSUFFICIENT_INVENTORY once
 * parsed, recognised without parsing it: the load generator meets it on most reserves of a drop, and its
 * JSON is garbage k6 then collects. It must open with that `error`, name no other `error`, `sqlstate` or
 * `code` (JSON keeps a repeated key's last value) and hold no backslash, so that no escape can spell one
 * of those keys; the rest is trusted to be the JSON object it looks like. False only means "parse it".
 */
export function isPlainSoldOutText(text: string): boolean {
  return (
    text.startsWith(PLAIN_SOLD_OUT_PREFIX) &&
    text.endsWith("}") &&
    text.indexOf("\\") < 0 &&
    text.indexOf('"error"', PLAIN_SOLD_OUT_PREFIX.length) < 0 &&
    text.indexOf('"sqlstate"') < 0 &&
    text.indexOf('"code"') < 0
  );
}

/** Human label of each taxonomy code, for tables. */
export const TAXONOMY_LABELS: Readonly<Record<TaxonomyCode, string>> = {
  "40001": "serialization failure",
  "40P01": "deadlock",
  "23505": "unique violation",
  "23514": "check violation",
  INSUFFICIENT_INVENTORY: "sold out (expected)",
  HOLD_EXPIRED: "hold expired",
  HOLD_EXISTS: "hold exists",
  IDEMPOTENCY_KEY_REUSED: "idempotency key reused",
  "4xx": "other client error",
  "5xx": "server error",
  "503": "service unavailable",
  timeout: "timeout",
  network: "network error",
};

export const TAXONOMY_CODES = Object.values(TAXONOMY) as TaxonomyCode[];
