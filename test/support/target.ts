// A throwaway embedded target for tests: free ports, a temporary database removed on stop, no fsync,
// and small helpers (keys, signed webhooks, RPC calls) so every team's test talks to it the same way.
import pg from "pg";
import { startTarget, type Target, type TargetOptions } from "../../backend/index.ts";
import { signPayload } from "../../backend/webhook.ts";
import { WEBHOOK_SIGNATURE_HEADER } from "../../lib/local-target.ts";

export type { Target };

export interface TestTarget extends Target {
  /** POST a JSON body (a string is sent as is) with the given key (default: anon). */
  post(path: string, body: unknown, init?: { key?: string | null; headers?: Record<string, string> }): Promise<Response>;
  /** Calls an allow-listed RPC with the service_role key; throws on a non-2xx answer. */
  rpc<T = unknown>(fn: string, args?: Record<string, unknown>): Promise<T>;
  /** Delivers a payment webhook signed with the target's secret. */
  webhook(body: unknown): Promise<Response>;
}

export async function startTestTarget(opts: TargetOptions = {}): Promise<TestTarget> {
  // startTarget reads no environment: a test gets exactly the settings it passes, never the developer's.
  const target = await startTarget({ port: 0, fast: true, cleanupIntervalMs: 60_000, ...opts });
  const post: TestTarget["post"] = (path, body, init = {}) => {
    const key = init.key === undefined ? target.anonKey : init.key;
    return fetch(`${target.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(key === null ? {} : { apikey: key, authorization: `Bearer ${key}` }),
        ...init.headers,
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  };
  return {
    ...target,
    post,
    async rpc<T>(fn: string, args: Record<string, unknown> = {}): Promise<T> {
      const res = await post(`/rest/v1/rpc/${fn}`, args, { key: target.serviceRoleKey });
      const text = await res.text();
      if (!res.ok) throw new Error(`rpc ${fn} answered ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    webhook(body: unknown): Promise<Response> {
      const raw = JSON.stringify(body);
      return fetch(`${target.url}/functions/v1/payment-webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", [WEBHOOK_SIGNATURE_HEADER]: signPayload(target.webhookSecret, raw) },
        body: raw,
      });
    },
  };
}

/** Setup result of `load_test_setup`, as the RPC answers it. */
export interface LoadTestEvent {
  event_id: string;
  tier_ids: string[];
  tickets_per_tier: number;
  total_tickets: number;
  hold_seconds: number;
}

/** Runs `fn` with a direct connection to the target's database (for counts and assertions). */
export async function withPg<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Row counts and inventory sums of every table a request could change: equal before and after = no effect. */
export function databaseFingerprint(databaseUrl: string): Promise<Record<string, string>> {
  return withPg(databaseUrl, async (c) => {
    const { rows } = await c.query<Record<string, string>>(`
      SELECT (SELECT count(*) FROM events)::text AS events,
             (SELECT count(*) FROM ticket_tiers)::text AS tiers,
             (SELECT coalesce(sum(sold_quantity), 0) || '/' || coalesce(sum(reserved_quantity), 0) FROM ticket_tiers) AS sold_reserved,
             (SELECT count(*) FROM ticket_holds)::text AS holds,
             (SELECT count(*) FROM orders)::text AS orders,
             (SELECT count(*) FROM orders WHERE status = 'paid')::text AS paid,
             (SELECT count(*) FROM tickets)::text AS tickets,
             (SELECT count(*) FROM idempotency_keys)::text AS idempotency_keys,
             (SELECT count(*) FROM payment_events)::text AS payment_events`);
    return rows[0]!;
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
