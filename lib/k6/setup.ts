// setup(): proves the target answers, then creates a fresh isolated event (load_test_setup, service role)
// unless EVENT_ID/TIER_ID name one, and hands its ids and capacity to every VU, with the validated
// settings VUs act on (VUs never parse the configuration themselves). Any problem aborts the run with a
// message that names the variable to fix.
import exec from "k6/execution";
import { BUNDLES, SCENARIOS, type BundleName } from "../bundles.ts";
import { bucketsPerTier, type LoadConfig } from "../config.ts";
import { configSecrets, redactText } from "../redact.ts";
import { vuSettings, type VuSettings } from "../vu-config.ts";
import { bodyField, healthCheck, replyText, rpc, type Reply } from "./api.ts";

export interface SetupData {
  eventId: string;
  tierIds: string[];
  totalTickets: number | null;
  holdSeconds: number | null;
  /**
   * Inventory rows per tier of the event setup() created (1: the Liventix Advanced Load Testing Guide's
   * single row); null for the user's own event.
   */
  bucketsPerTier: number | null;
  /** False when EVENT_ID/TIER_ID were given: the event belongs to the user. */
  created: boolean;
  /** Epoch ms at which the drop opens (SALE_OPENS_IN, or the scenario's countdown, after setup); VUs wait for it before their first click. */
  opensAt: number;
  /** The validated settings every VU acts on. */
  vu: VuSettings;
}

export function abort(cfg: LoadConfig, message: string): never {
  const text = redactText(`liventix-load: ${message}`, configSecrets(cfg));
  exec.test.abort(text);
  throw new Error(text); // unreachable under k6; keeps the type `never` honest elsewhere
}

/** The target's /health answer, once it proved the target usable. */
export function checkHealth(cfg: LoadConfig): Reply {
  const reply = healthCheck(cfg);
  if (reply.status === 0) {
    abort(
      cfg,
      `cannot reach SUPABASE_URL ${cfg.supabaseUrl} (${reply.error || "no answer"}). ` +
        (cfg.loopback
          ? "Start the embedded target first: npm run target (or use npm run load, which starts it for you)."
          : "Check SUPABASE_URL and your network."),
    );
  }
  // A Supabase project has no /health route (404): reaching it is enough. 5xx means the backend is down.
  if (reply.status >= 500)
    abort(
      cfg,
      `SUPABASE_URL ${cfg.supabaseUrl} is up but unhealthy: /health answered HTTP ${reply.status} ${replyText(reply).slice(0, 200)}`,
    );
  return reply;
}

function setupFailure(cfg: LoadConfig, status: number, text: string, buckets: number): string {
  if (status === 401 || status === 403) {
    return `load_test_setup was refused (HTTP ${status}): SUPABASE_SERVICE_ROLE_KEY must be this project's service_role key.`;
  }
  if (status === 404) {
    const withBuckets =
      buckets > 1
        ? `, or not with p_buckets_per_tier (${buckets} buckets per tier were asked for; set BUCKETS_PER_TIER=1 to do without)`
        : "";
    return `load_test_setup does not exist on ${cfg.supabaseUrl} (HTTP 404)${withBuckets}: apply supabase/migrations (supabase db push), or give EVENT_ID and TIER_ID.`;
  }
  return `load_test_setup failed (HTTP ${status}): ${text.slice(0, 300)}`;
}

export function setupRun(cfg: LoadConfig, bundle: BundleName): SetupData {
  const health = checkHealth(cfg);
  const shape = SCENARIOS[BUNDLES[bundle].scenario];
  const opensAt = Date.now() + (cfg.saleOpensIn ?? shape.opensIn) * 1000;
  const vu = vuSettings(cfg);
  if (cfg.eventId !== null) {
    return {
      eventId: cfg.eventId,
      tierIds: cfg.tierIds,
      totalTickets: null,
      holdSeconds: cfg.holdSeconds,
      bucketsPerTier: null,
      created: false,
      opensAt,
      vu,
    };
  }
  const buckets = bucketsPerTier(cfg, bodyField(health, "isolation"));
  const reply = rpc(cfg, "load_test_setup", {
    p_tier_count: cfg.tierCount ?? shape.event.tiers,
    p_tickets_per_tier: cfg.ticketsPerTier ?? shape.event.ticketsPerTier,
    p_hold_seconds: cfg.holdSeconds ?? shape.event.holdSeconds,
    // Only when asked for, so a database whose load_test_setup predates the cap still answers.
    ...(cfg.eventCapacity !== null ? { p_event_capacity: cfg.eventCapacity } : {}),
    ...(buckets > 1 ? { p_buckets_per_tier: buckets } : {}),
    p_name: `k6 ${bundle}`,
  });
  if (reply.status !== 200) abort(cfg, setupFailure(cfg, reply.status, replyText(reply), buckets));
  const eventId = bodyField(reply, "event_id");
  const tierIds = bodyField(reply, "tier_ids");
  if (typeof eventId !== "string" || !Array.isArray(tierIds) || tierIds.length === 0) {
    abort(cfg, `load_test_setup answered an unexpected body: ${replyText(reply).slice(0, 300)}`);
  }
  const total = Number(bodyField(reply, "total_tickets"));
  const hold = Number(bodyField(reply, "hold_seconds"));
  // What each tier got (the database keeps at least 10 seats per bucket); absent before buckets existed.
  const got = Number(bodyField(reply, "buckets_per_tier") ?? 1);
  return {
    eventId: eventId as string,
    tierIds: (tierIds as unknown[]).map(String),
    totalTickets: Number.isFinite(total) ? total : null,
    holdSeconds: Number.isFinite(hold) ? hold : null,
    bucketsPerTier: Number.isFinite(got) ? got : null,
    created: true,
    opensAt,
    vu,
  };
}
