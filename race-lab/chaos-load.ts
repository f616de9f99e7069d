// The buyers of the fault suite: a few concurrent clients that reserve, check out and pay over real HTTP
// the way the API tells them to (a 503 is retried after Retry-After with the same Idempotency-Key or
// webhook event id), and a ledger of everything the API acknowledged with a 200, to be found in the
// database afterwards. Every answer is kept, with when it was asked and how long it took.
import { randomUUID } from "node:crypto";
import { WEBHOOK_SIGNATURE_HEADER } from "../lib/local-target.ts";
import { signPayload } from "../backend/webhook.ts";

export interface Answer {
  route: "checkout" | "webhook" | "health";
  startedAt: number;
  ms: number;
  /** HTTP status, or 0 when no answer came (connection refused or reset, or no answer in time). */
  status: number;
  /** What was wrong with it, if anything: a status outside 200/4xx/503, a 503 without Retry-After, no answer. */
  violation?: string;
}

/** What the API told clients it had done, by id. */
export interface Ledger {
  holds: Set<string>;
  orders: Set<string>;
  paid: Set<string>;
}

export interface LoadTarget {
  url: string;
  anonKey: string;
  webhookSecret: string;
}

export interface Load {
  answers: Answer[];
  ledger: Ledger;
  /** Resolves once `done` holds for the answers so far (checked after each answer), or fails after `timeoutMs`. */
  until(what: string, done: (answers: Answer[]) => boolean, timeoutMs: number): Promise<void>;
  /** One GET /health, recorded with the rest. */
  health(): Promise<number>;
  stop(): Promise<void>;
}

// Longer than any bound the target has: a request still unanswered by then is a hung API.
const NO_ANSWER_MS = 20_000;
const MAX_TRIES = 4;

function judge(status: number, retryAfter: string | null): string | undefined {
  if (status === 503) return retryAfter ? undefined : "503 without Retry-After";
  if (status === 200 || (status >= 400 && status < 500)) return undefined;
  return `answered ${status}`;
}

async function ask(
  answers: Answer[],
  route: Answer["route"],
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const startedAt = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(NO_ANSWER_MS) });
    const text = await res.text();
    const violation = judge(res.status, res.headers.get("retry-after"));
    answers.push({ route, startedAt, ms: Date.now() - startedAt, status: res.status, ...(violation ? { violation } : {}) });
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // A non-JSON body is judged by its status alone.
    }
    return { status: res.status, body };
  } catch (err) {
    const why = (err as Error).name === "TimeoutError" ? `no answer within ${NO_ANSWER_MS} ms` : `no answer: ${(err as Error).message}`;
    answers.push({ route, startedAt, ms: Date.now() - startedAt, status: 0, violation: why });
    return { status: 0, body: {} };
  }
}

export function startLoad(target: LoadTarget, eventId: string, tierId: string, buyers: number, ledger: Ledger): Load {
  const answers: Answer[] = [];
  let stopped = false;
  const waiters = new Set<() => void>();
  const record = () => {
    for (const w of [...waiters]) w();
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Sends until an answer that is not a 503 (or the load stops); the same request every time. */
  async function withRetries(route: Answer["route"], path: string, init: () => RequestInit) {
    for (let attempt = 1; ; attempt++) {
      const reply = await ask(answers, route, `${target.url}${path}`, init());
      record();
      if (reply.status !== 503 || attempt === MAX_TRIES || stopped) return reply;
      await sleep(1000);
    }
  }

  async function buyer(): Promise<void> {
    for (let n = 0; !stopped; n++) {
      const key = randomUUID();
      const body = JSON.stringify({ event_id: eventId, tier_id: tierId, quantity: 1, session_id: `chaos-${randomUUID()}` });
      const checkout = await withRetries("checkout", "/functions/v1/enhanced-checkout", () => ({
        method: "POST",
        headers: { "content-type": "application/json", apikey: target.anonKey, "Idempotency-Key": key },
        body,
      }));
      if (checkout.status !== 200) continue;
      const orderId = String(checkout.body.order_id);
      ledger.holds.add(String(checkout.body.hold_id));
      ledger.orders.add(orderId);
      // Every other order is paid, so that payments meet the faults as often as reservations do.
      if (n % 2 === 1) continue;
      const raw = JSON.stringify({ id: `evt_${orderId}`, type: "checkout.session.completed", data: { order_id: orderId } });
      const paid = await withRetries("webhook", "/functions/v1/payment-webhook", () => ({
        method: "POST",
        headers: { "content-type": "application/json", [WEBHOOK_SIGNATURE_HEADER]: signPayload(target.webhookSecret, raw) },
        body: raw,
      }));
      if (paid.status === 200 && paid.body.status === "paid") ledger.paid.add(orderId);
    }
  }

  const running = Array.from({ length: buyers }, () => buyer());
  return {
    answers,
    ledger,
    until(what, done, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!done(answers)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async health() {
      const reply = await ask(answers, "health", `${target.url}/health`, {});
      record();
      return reply.status;
    },
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}
