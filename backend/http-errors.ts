// One place that turns every failure into the contract's error body and status: business codes from
// the SQL, PostgreSQL errors (retryable, unavailable, bad client input) and the API's own checks.
// Nothing internal (stack, SQL text, connection details) ever reaches a response.
import { API_ERRORS, RETRIES_HEADER, SQLSTATE_TO_ERROR, isApiErrorCode, type ApiErrorBody, type ApiErrorCode } from "../lib/errors.ts";

/** The contract's codes plus the last-resort 500, which no client input should ever cause. */
export type ErrorCode = ApiErrorCode;

export interface FieldProblem {
  field: string;
  problem: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: { fields?: FieldProblem[]; sqlstate?: string; retryAfterSeconds?: number; allow?: string; retries?: number } = {},
  ) {
    super(message);
  }

  body(): Omit<ApiErrorBody, "error"> & { error: ErrorCode } {
    return {
      error: this.code,
      message: this.message,
      ...(this.extra.fields ? { fields: this.extra.fields } : {}),
      ...(this.extra.sqlstate ? { sqlstate: this.extra.sqlstate } : {}),
    };
  }

  headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.extra.retryAfterSeconds !== undefined) h["Retry-After"] = String(this.extra.retryAfterSeconds);
    if (this.extra.allow) h.Allow = this.extra.allow;
    if (this.extra.retries !== undefined) h[RETRIES_HEADER] = String(this.extra.retries);
    return h;
  }
}

export function apiError(code: ApiErrorCode, message: string, extra: HttpError["extra"] = {}): HttpError {
  return new HttpError(API_ERRORS[code], code, message, extra);
}

export function invalidRequest(fields: FieldProblem[]): HttpError {
  const summary = fields.map((f) => `${f.field}: ${f.problem}`).join("; ");
  return apiError("INVALID_REQUEST", `the request is invalid: ${summary}`, { fields });
}

export function internalError(sqlstate?: string): HttpError {
  return new HttpError(500, "INTERNAL", "the server failed unexpectedly; the request changed nothing", {
    ...(sqlstate ? { sqlstate } : {}),
  });
}

/** A `{ok: false, error, message}` value returned by the SQL, as the response it stands for. */
export function fromOutcome(outcome: { error?: unknown; message?: unknown }): HttpError {
  const message = typeof outcome.message === "string" ? outcome.message : "the request was refused";
  return isApiErrorCode(outcome.error) ? apiError(outcome.error, message) : internalError();
}

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
}

const CONNECTION_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"]);

/** True for PostgreSQL's retryable conflicts: the whole transaction may simply run again. */
export function isRetryableConflict(err: unknown): boolean {
  const code = (err as PgLikeError | undefined)?.code;
  return code === "40001" || code === "40P01";
}

/** True when the database could not be reached or went away mid-request (the request may be retried). */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as PgLikeError | undefined;
  const code = e?.code ?? "";
  if (CONNECTION_ERRNOS.has(code)) return true;
  // 08 connection exception, 57P01-03 shutdown / crash / starting up, 57P05 idle session timeout, 53300 too many connections.
  if (/^08/.test(code) || /^57P0[1235]$/.test(code) || code === "53300") return true;
  const message = e?.message ?? "";
  // "Query read timeout": the client-side bound of a round trip passed; the connection is destroyed.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Query read timeout/i.test(
    message,
  );
}

/** The server's own bounds (statement_timeout, lock_timeout) or an operator's cancel: the transaction rolled back. */
function isServerTimeout(code: string): boolean {
  return code === "57014" || code === "55P03";
}

// The outcome of a request whose connection failed mid-way is unknown (the COMMIT may have landed), so
// the advice is the idempotent retry, never "it failed".
function serviceUnavailable(sqlstate?: string): HttpError {
  return apiError(
    "SERVICE_UNAVAILABLE",
    "the database is unavailable, saturated or too slow to answer in time; retry after the indicated delay (with the same Idempotency-Key)",
    { retryAfterSeconds: 1, ...(sqlstate ? { sqlstate } : {}) },
  );
}

/** `retries`: how many the server spent before giving up (sent as X-Serialization-Retries). */
export function serializationFailure(sqlstate: string, retries?: number): HttpError {
  return apiError(
    "SERIALIZATION_FAILURE",
    "the transaction kept conflicting with concurrent ones after the server's retries; retry with the same Idempotency-Key",
    { sqlstate, retryAfterSeconds: 1, ...(retries === undefined ? {} : { retries }) },
  );
}

/** Any error thrown while talking to PostgreSQL, as the response the client gets. */
export function fromDatabaseError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = (err ?? {}) as PgLikeError;
  const code = e.code ?? "";
  if (isRetryableConflict(err)) return serializationFailure(code);
  if (isConnectionFailure(err)) return serviceUnavailable(/^(08|53|57)[0-9A-Z]{3}$/.test(code) ? code : undefined);
  if (isServerTimeout(code)) return serviceUnavailable(code);
  const mapped = SQLSTATE_TO_ERROR[code];
  // The reference functions raise their code as the message and the explanation as the detail.
  if (mapped) return apiError(mapped, e.detail ?? e.message ?? mapped);
  // Class 22 (data exception: bad uuid, out of range, wrong type) can only come from argument values.
  if (code.startsWith("22")) return apiError("INVALID_REQUEST", `an argument was rejected by PostgreSQL: ${e.message ?? code}`);
  // A constraint violation or anything else means the SQL is wrong; the sqlstate lets the suite classify it.
  return internalError(/^[0-9A-Z]{5}$/.test(code) ? code : undefined);
}
