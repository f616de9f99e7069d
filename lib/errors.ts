// The error contract shared by the target (which answers with these codes) and the k6 suite (which
// classifies responses by them). Pure module: no k6 import, so the Node side may import it too.

/** Every `error` code the API can answer with, and the HTTP status that carries it. */
export const API_ERRORS = {
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  INVALID_SIGNATURE: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  TIER_NOT_FOUND: 404,
  HOLD_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INSUFFICIENT_INVENTORY: 409,
  HOLD_EXISTS: 409,
  HOLD_NOT_ACTIVE: 409,
  ORDER_NOT_PENDING: 409,
  HOLD_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  INTERNAL: 500,
  SERIALIZATION_FAILURE: 503,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === "string" && Object.hasOwn(API_ERRORS, value);
}

/**
 * Response header of the embedded target's database-backed routes: how many times the server retried the
 * request's transaction after a 40001 (serialization failure) or 40P01 (deadlock) before this answer. The
 * client never sees those conflicts otherwise; summed with the requests, they give the 40001 rate before
 * retries, the figure the Liventix Advanced Load Testing Guide bounds at 5 %.
 */
export const RETRIES_HEADER = "X-Serialization-Retries";

/**
 * SQLSTATEs raised by the reference SQL functions (class "LT", chosen so they never collide with
 * PostgreSQL's own classes). Functions meant for direct RPC use raise these; the HTTP-facing
 * functions return the code as a value instead so that the idempotency record commits with it.
 */
export const SQLSTATE_TO_ERROR: Readonly<Record<string, ApiErrorCode>> = {
  LT409: "INSUFFICIENT_INVENTORY",
  LT404: "TIER_NOT_FOUND",
  LT400: "INVALID_REQUEST",
  LT410: "HOLD_EXPIRED",
  LT411: "HOLD_NOT_FOUND",
  LT412: "HOLD_NOT_ACTIVE",
  LT413: "HOLD_EXISTS",
  LT414: "EVENT_NOT_FOUND",
  LT415: "ORDER_NOT_FOUND",
  LT416: "ORDER_NOT_PENDING",
};

/**
 * The load-testing guide's error taxonomy: what the k6 suite tags `reserve_errors{code}` with.
 * PostgreSQL SQLSTATEs stay numeric-looking ("40001", "23505") because that is how the guide and
 * pgbench name them; HTTP-level classes are words.
 */
export const TAXONOMY = {
  SERIALIZATION: "40001",
  DEADLOCK: "40P01",
  UNIQUE_VIOLATION: "23505",
  CHECK_VIOLATION: "23514",
  INSUFFICIENT_INVENTORY: "INSUFFICIENT_INVENTORY",
  HOLD_EXPIRED: "HOLD_EXPIRED",
  HOLD_EXISTS: "HOLD_EXISTS",
  IDEMPOTENCY_KEY_REUSED: "IDEMPOTENCY_KEY_REUSED",
  CLIENT_ERROR: "4xx",
  SERVER_ERROR: "5xx",
  SERVICE_UNAVAILABLE: "503",
  TIMEOUT: "timeout",
  NETWORK: "network",
} as const;

export type TaxonomyCode = (typeof TAXONOMY)[keyof typeof TAXONOMY];

/** Shape of every error body the API sends. */
export interface ApiErrorBody {
  error: ApiErrorCode;
  message: string;
  /** Present on 400: one entry per failing field, with what would fix it. */
  fields?: { field: string; problem: string }[];
  /** Present when the underlying cause is a PostgreSQL error the client may care about (40001, 23505). */
  sqlstate?: string;
}
