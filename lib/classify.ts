// Puts every API response into the load-testing guide's error taxonomy (lib/errors.ts TAXONOMY), so
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

export type Outcome = "success" | "sold_out" | "error";

export interface Classification {
  outcome: Outcome;
  /** Taxonomy bucket; null on success. */
  code: TaxonomyCode | null;
  /** Worth another attempt with the same Idempotency-Key (40001, 40P01, 503). */
  retryable: boolean;
}

// k6 error codes that mean "no answer in time": 1050 request timeout, 1211 dial timeout.
const TIMEOUT_ERROR_CODES = new Set([1050, 1211]);

function field(body: unknown, name: string): string | undefined {
  const value = isObject(body) ? body[name] : undefined;
  return typeof value === "string" ? value : undefined;
}

/** The SQLSTATE behind an error: the target's `sqlstate`, or PostgREST's `code`. */
function sqlstateOf(body: unknown): string | undefined {
  const s = field(body, "sqlstate") ?? field(body, "code");
  return s !== undefined && /^[0-9A-Z]{5}$/.test(s) ? s : undefined;
}

export function classify(res: ObservedResponse): Classification {
  if (res.status === 0) {
    const timedOut = TIMEOUT_ERROR_CODES.has(res.errorCode ?? -1) || /timeout/i.test(res.error ?? "");
    return { outcome: "error", code: timedOut ? TAXONOMY.TIMEOUT : TAXONOMY.NETWORK, retryable: false };
  }
  if (res.status >= 200 && res.status < 300) return { outcome: "success", code: null, retryable: false };

  const error = field(res.body, "error");
  const sqlstate = sqlstateOf(res.body);
  if (sqlstate === "40001" || error === "SERIALIZATION_FAILURE") {
    return { outcome: "error", code: TAXONOMY.SERIALIZATION, retryable: true };
  }
  if (sqlstate === "40P01") return { outcome: "error", code: TAXONOMY.DEADLOCK, retryable: true };
  if (sqlstate === "23505") return { outcome: "error", code: TAXONOMY.UNIQUE_VIOLATION, retryable: false };
  if (sqlstate === "23514") return { outcome: "error", code: TAXONOMY.CHECK_VIOLATION, retryable: false };
  if (res.status === 503) return { outcome: "error", code: TAXONOMY.SERVICE_UNAVAILABLE, retryable: true };

  switch (error) {
    case "INSUFFICIENT_INVENTORY":
      return { outcome: "sold_out", code: TAXONOMY.INSUFFICIENT_INVENTORY, retryable: false };
    case "HOLD_EXPIRED":
      return { outcome: "error", code: TAXONOMY.HOLD_EXPIRED, retryable: false };
    case "HOLD_EXISTS":
      return { outcome: "error", code: TAXONOMY.HOLD_EXISTS, retryable: false };
    case "IDEMPOTENCY_KEY_REUSED":
      return { outcome: "error", code: TAXONOMY.IDEMPOTENCY_KEY_REUSED, retryable: false };
  }
  const code = res.status >= 500 ? TAXONOMY.SERVER_ERROR : TAXONOMY.CLIENT_ERROR;
  return { outcome: "error", code, retryable: false };
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
