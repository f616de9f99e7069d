// What a handler answers, independent of the HTTP framework, and how the SQL's jsonb outcome values
// ({ok: true, ...} or {ok: false, error: CODE}) become one: the status always comes from lib/errors.ts.
import { RETRIES_HEADER } from "../lib/errors.ts";
import { fromOutcome } from "./http-errors.ts";

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Outcome {
  ok: boolean;
  error?: unknown;
  message?: unknown;
  replay?: boolean;
  [key: string]: unknown;
}

export function replyFromOutcome(outcome: Outcome, success: (o: Outcome) => unknown): Reply {
  if (outcome.ok) return { status: 200, body: success(outcome) };
  const err = fromOutcome(outcome);
  return { status: err.status, body: err.body() };
}

/** The reply, telling the client how many 40001/40P01 retries its transaction took on the server. */
export function withRetries(reply: Reply, retries: number): Reply {
  return { ...reply, headers: { ...reply.headers, [RETRIES_HEADER]: String(retries) } };
}
