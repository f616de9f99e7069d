// Reads the run's settings from the environment (k6 `__ENV`, or `process.env` on the Node side) and
// validates them, so that a bad value stops the run before the first request with ONE message that
// lists every problem and how to fix it. With nothing set, the embedded target's public defaults
// (lib/local-target.ts) apply. Pure module: no k6 import. Plain checks rather than zod: under k6
// v0.49 building and running these schemas with zod v3 cost ~30 ms of CPU and ~4.5 MB per parse, in
// every k6 instance that parses (docs/k6-generator.md). URLs are checked with patterns (k6 has no URL).
import { LOCAL_SERVICE_ROLE_KEY, LOCAL_SUPABASE_URL } from "./local-target.ts";
import { UUID_PATTERN as UUID } from "./uuid.ts";
import { presentText, vuKeys, type Env } from "./vu-config.ts";

export interface LoadConfig {
  supabaseUrl: string;
  /** True when the URL points at this machine: local demo keys are accepted as defaults there. */
  loopback: boolean;
  anonKey: string;
  serviceRoleKey: string | null;
  eventId: string | null;
  tierIds: string[];
  databaseUrl: string | null;
  webhookSecret: string;
  payRatio: number;
  /** Share of payments whose webhook the provider delivers twice at once (at-least-once delivery). */
  webhookRedeliveryRatio: number;
  /** Share of reserves sent twice at once by one session (a double-clicked button). */
  doubleClickRatio: number;
  /** Share of reservations whose checkout the buyer resumes from a second tab (twice at once). */
  secondTabRatio: number;
  /** Share of arrivals that are a scalper bot firing BOT_SESSIONS reserves at the same instant. */
  botRatio: number;
  botSessions: number;
  thinkTime: number;
  /** Seconds from setup() until the drop opens: every VU waits for that instant, then all click at once; null: the scenario's default. */
  saleOpensIn: number | null;
  quantity: number;
  loadScale: number;
  maxRetries: number;
  resultsDir: string | null;
  /** Where k6 writes its web dashboard at the end of the run (K6_WEB_DASHBOARD_EXPORT), for the report to link to. */
  dashboardExport: string | null;
  tierCount: number | null;
  ticketsPerTier: number | null;
  holdSeconds: number | null;
  /** Event-wide cap across tiers for the test event setup() creates; null: no cap. */
  eventCapacity: number | null;
  /** Inventory buckets per tier of the test event setup() creates; null: chosen from the target (bucketsPerTier). */
  bucketsPerTier: number | null;
  abandonGraceSeconds: number;
  cloudProjectId: number | null;
  cloudLoadZones: string[];
}

export interface ConfigOptions {
  /** The bundle reads invariants over SQL when DATABASE_URL is set (dist/sql flavour). */
  sqlTeardown?: boolean;
}

const HTTP_URL = /^https?:\/\/[^\s/?#]+(?::\d+)?(?:\/[^\s?#]*)?$/i;
const PG_URL = /^postgres(?:ql)?:\/\/\S+$/i;
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Host part of an http(s) URL, without port or credentials; "" when the text is not one. */
export function urlHost(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(url);
  return m ? m[1]!.toLowerCase() : "";
}

export function isLoopbackUrl(url: string): boolean {
  return LOOPBACK_HOST.test(urlHost(url));
}

/** Reads one present, trimmed value; null when it is not acceptable. */
type Reader<T> = (text: string) => T | null;

const anyText: Reader<string> = (text) => text;

function matching(pattern: RegExp): Reader<string> {
  return (text) => (pattern.test(text) ? text : null);
}

function numberIn(min: number, max: number, opts: { int?: boolean; minExclusive?: boolean } = {}): Reader<number> {
  return (text) => {
    if (!/^-?\d+(?:\.\d+)?$/.test(text)) return null;
    const n = Number(text);
    if (opts.int && !Number.isInteger(n)) return null;
    return (opts.minExclusive ? n > min : n >= min) && n <= max ? n : null;
  };
}

function listOf(pattern: RegExp): Reader<string> {
  return (text) => (text.split(",").every((item) => pattern.test(item.trim())) ? text : null);
}

/** load_test_setup's bounds for p_buckets_per_tier. */
const MAX_BUCKETS = 4096;
/**
 * Buckets per tier when BUCKETS_PER_TIER is unset and the target says it runs SERIALIZABLE: what the race
 * lab measures the design with (docs/inventory-buckets.md). The database keeps at least 10 seats per
 * bucket, so a 10-seat tier stays one row.
 */
export const AUTO_BUCKETS = 1024;

/** One entry per variable: how to read it and the fix the message suggests when it cannot be read. */
const FIELDS = {
  SUPABASE_URL: {
    read: matching(HTTP_URL),
    fix: "must be the http(s) URL of your project, e.g. https://abcd.supabase.co (unset it to use the embedded target: npm run target)",
  },
  SUPABASE_ANON_KEY: { read: anyText, fix: "" },
  SUPABASE_SERVICE_ROLE_KEY: { read: anyText, fix: "" },
  EVENT_ID: { read: matching(UUID), fix: "must be the uuid of an existing event; unset it to let setup() create a test event" },
  TIER_ID: {
    read: listOf(UUID),
    fix: "must be a tier uuid, or several separated by commas, belonging to EVENT_ID",
  },
  DATABASE_URL: {
    read: matching(PG_URL),
    fix: "must be a PostgreSQL connection string, e.g. postgresql://postgres:<password>@db.<project-ref>.supabase.co:5432/postgres",
  },
  WEBHOOK_SECRET: { read: anyText, fix: "" },
  PAY_RATIO: {
    read: numberIn(0, 1),
    fix: "must be a number from 0 to 1 (share of checkouts that pay; 0 skips the payment webhook), e.g. PAY_RATIO=0.7",
  },
  WEBHOOK_REDELIVERY_RATIO: {
    read: numberIn(0, 1),
    fix: "must be a number from 0 to 1 (share of payments whose webhook is delivered twice at once), e.g. WEBHOOK_REDELIVERY_RATIO=0.1",
  },
  DOUBLE_CLICK_RATIO: {
    read: numberIn(0, 1),
    fix: "must be a number from 0 to 1 (share of reserves double-clicked: two concurrent requests of one session), e.g. DOUBLE_CLICK_RATIO=0.05",
  },
  SECOND_TAB_RATIO: {
    read: numberIn(0, 1),
    fix: "must be a number from 0 to 1 (share of buyers who resume checkout of their hold from a second tab), e.g. SECOND_TAB_RATIO=0.05",
  },
  BOT_RATIO: {
    read: numberIn(0, 1),
    fix: "must be a number from 0 to 1 (share of arrivals that are a scalper bot reserving for several sessions at once), e.g. BOT_RATIO=0.02",
  },
  BOT_SESSIONS: {
    read: numberIn(2, 20, { int: true }),
    fix: "must be a whole number from 2 to 20 (sessions a scalper bot reserves for at once), e.g. BOT_SESSIONS=4",
  },
  SALE_OPENS_IN: {
    read: numberIn(0, 3600),
    fix: "must be seconds from 0 to 3600 between setup() and the moment the drop opens (every VU waits, then all reserve at once), e.g. SALE_OPENS_IN=2",
  },
  THINK_TIME: { read: numberIn(0, 60), fix: "must be seconds from 0 to 60 (pause between steps), e.g. THINK_TIME=1" },
  QUANTITY: { read: numberIn(1, 10, { int: true }), fix: "must be a whole number of tickets from 1 to 10, e.g. QUANTITY=1" },
  LOAD_SCALE: {
    read: numberIn(0, 100, { minExclusive: true }),
    fix: "must be a number above 0 (up to 100) that scales VUs and durations, e.g. LOAD_SCALE=0.1",
  },
  MAX_RETRIES: {
    read: numberIn(0, 20, { int: true }),
    fix: "must be a whole number from 0 to 20 (retries on 40001/503), e.g. MAX_RETRIES=5",
  },
  RESULTS_DIR: { read: anyText, fix: "" },
  K6_WEB_DASHBOARD_EXPORT: { read: anyText, fix: "" },
  TIER_COUNT: { read: numberIn(1, 50, { int: true }), fix: "must be a whole number of tiers from 1 to 50 for the test event" },
  TICKETS_PER_TIER: { read: numberIn(1, 10_000_000, { int: true }), fix: "must be a whole number of tickets per tier from 1 to 10000000" },
  HOLD_SECONDS: { read: numberIn(1, 86_400, { int: true }), fix: "must be the hold lifetime in whole seconds from 1 to 86400" },
  EVENT_CAPACITY: {
    read: numberIn(1, 100_000_000, { int: true }),
    fix: "must be a whole number of seats from 1 that caps sold + reserved across all tiers of the test event (unset: no cap)",
  },
  BUCKETS_PER_TIER: {
    read: numberIn(1, MAX_BUCKETS, { int: true }),
    fix:
      `must be a whole number from 1 to ${MAX_BUCKETS}: inventory rows per tier of the test event (1: the guide's single row), ` +
      `e.g. BUCKETS_PER_TIER=${AUTO_BUCKETS}; unset it to let setup() choose from the target's isolation`,
  },
  ABANDON_GRACE_SECONDS: {
    read: numberIn(0, 600, { int: true }),
    fix: "must be whole seconds from 0 to 600 that teardown waits beyond the hold lifetime for expired holds to be released",
  },
  K6_CLOUD_PROJECT_ID: { read: numberIn(1, Number.MAX_SAFE_INTEGER, { int: true }), fix: "must be the numeric k6 Cloud project id" },
  K6_CLOUD_LOAD_ZONES: {
    read: listOf(/^[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]+$/i),
    fix: "must list k6 Cloud load zones separated by commas, e.g. amazon:us:ashburn,amazon:de:frankfurt",
  },
} as const;

export type ConfigVariable = keyof typeof FIELDS;
export const CONFIG_VARIABLES = Object.keys(FIELDS) as ConfigVariable[];

type Values = { [K in ConfigVariable]: Exclude<ReturnType<(typeof FIELDS)[K]["read"]>, null> | undefined };

export type ConfigResult = { ok: true; config: LoadConfig } | { ok: false; problems: string[] };

export function parseConfig(env: Env, options: ConfigOptions = {}): ConfigResult {
  const problems: string[] = [];
  const values = {} as Record<ConfigVariable, unknown>;
  for (const name of CONFIG_VARIABLES) {
    const text = presentText(env[name]);
    const value = text === undefined ? undefined : (FIELDS[name].read as Reader<unknown>)(text);
    if (value === null) problems.push(`${name}: ${FIELDS[name].fix}`);
    else values[name] = value;
  }
  const v = values as Values;
  const given = (name: ConfigVariable) => typeof env[name] === "string" && env[name]!.trim() !== "";
  const invalid = (name: ConfigVariable) => given(name) && v[name] === undefined;

  const supabaseUrl = (v.SUPABASE_URL ?? LOCAL_SUPABASE_URL).replace(/\/+$/, "");
  const loopback = isLoopbackUrl(supabaseUrl);
  // The same resolution every VU repeats for itself (lib/vu-config.ts).
  const { anonKey, webhookSecret } = vuKeys(env, loopback);
  const serviceRoleKey = v.SUPABASE_SERVICE_ROLE_KEY ?? (loopback ? LOCAL_SERVICE_ROLE_KEY : null);
  const tierIds = v.TIER_ID ? v.TIER_ID.split(",").map((t) => t.trim()) : [];

  // Rules across variables, skipped where a variable they depend on was already reported as bad.
  if (anonKey === undefined && !invalid("SUPABASE_URL")) {
    problems.push("SUPABASE_ANON_KEY: is required for a remote SUPABASE_URL; copy it from Project Settings > API (anon public key)");
  }
  if (given("EVENT_ID") !== given("TIER_ID")) {
    problems.push(
      given("TIER_ID")
        ? "EVENT_ID: is required when TIER_ID is set; give both, or neither to let setup() create a test event"
        : "TIER_ID: is required when EVENT_ID is set; give both, or neither to let setup() create a test event",
    );
  }
  const eventGiven = given("EVENT_ID") && given("TIER_ID");
  const sqlInvariants = options.sqlTeardown === true && given("DATABASE_URL");
  if (serviceRoleKey === null && !invalid("SUPABASE_URL") && !(eventGiven && sqlInvariants)) {
    problems.push(
      "SUPABASE_SERVICE_ROLE_KEY: is required for a remote SUPABASE_URL to create the test event (load_test_setup) and read invariants; " +
        "copy it from Project Settings > API, or give EVENT_ID, TIER_ID and DATABASE_URL with a dist/sql bundle",
    );
  }
  const buckets = v.BUCKETS_PER_TIER;
  if (buckets !== undefined && eventGiven) {
    problems.push(
      "BUCKETS_PER_TIER: shapes only the event setup() creates, and EVENT_ID/TIER_ID name your own; unset it " +
        `(spread your tiers before the sale with SELECT spread_tier_inventory('<tier id>', ${AUTO_BUCKETS}))`,
    );
  } else if (buckets !== undefined && buckets > 1 && v.EVENT_CAPACITY !== undefined) {
    problems.push(
      "BUCKETS_PER_TIER: a capped event keeps single-row tiers (load_test_setup refuses buckets with EVENT_CAPACITY); " +
        "unset BUCKETS_PER_TIER or EVENT_CAPACITY",
    );
  }
  if (problems.length > 0) return { ok: false, problems };

  return {
    ok: true,
    config: {
      supabaseUrl,
      loopback,
      anonKey: anonKey as string,
      serviceRoleKey,
      eventId: v.EVENT_ID ?? null,
      tierIds,
      databaseUrl: v.DATABASE_URL ?? null,
      webhookSecret,
      payRatio: v.PAY_RATIO ?? 0.7,
      webhookRedeliveryRatio: v.WEBHOOK_REDELIVERY_RATIO ?? 0.1,
      doubleClickRatio: v.DOUBLE_CLICK_RATIO ?? 0.05,
      secondTabRatio: v.SECOND_TAB_RATIO ?? 0.05,
      botRatio: v.BOT_RATIO ?? 0.02,
      botSessions: v.BOT_SESSIONS ?? 4,
      thinkTime: v.THINK_TIME ?? 1,
      saleOpensIn: v.SALE_OPENS_IN ?? null,
      quantity: v.QUANTITY ?? 1,
      loadScale: v.LOAD_SCALE ?? 1,
      maxRetries: v.MAX_RETRIES ?? 5,
      resultsDir: v.RESULTS_DIR ?? null,
      dashboardExport: v.K6_WEB_DASHBOARD_EXPORT ?? null,
      tierCount: v.TIER_COUNT ?? null,
      ticketsPerTier: v.TICKETS_PER_TIER ?? null,
      holdSeconds: v.HOLD_SECONDS ?? null,
      eventCapacity: v.EVENT_CAPACITY ?? null,
      bucketsPerTier: buckets ?? null,
      abandonGraceSeconds: v.ABANDON_GRACE_SECONDS ?? 90,
      cloudProjectId: v.K6_CLOUD_PROJECT_ID ?? null,
      cloudLoadZones: v.K6_CLOUD_LOAD_ZONES ? v.K6_CLOUD_LOAD_ZONES.split(",").map((z) => z.trim()) : [],
    },
  };
}

/**
 * Buckets per tier to ask load_test_setup for. BUCKETS_PER_TIER when given; otherwise the design the
 * target is built for: the embedded target reports its isolation on /health, and under SERIALIZABLE its
 * reference design is the bucketed one (one row per tier fails most writers there). A Supabase project
 * has no /health: its test event keeps the Liventix Advanced Load Testing Guide's single row, like its own tiers, unless asked.
 * A capped event always keeps one row.
 */
export function bucketsPerTier(cfg: Pick<LoadConfig, "bucketsPerTier" | "eventCapacity">, targetIsolation: unknown): number {
  if (cfg.bucketsPerTier !== null) return cfg.bucketsPerTier;
  return targetIsolation === "serializable" && cfg.eventCapacity === null ? AUTO_BUCKETS : 1;
}

export function formatConfigProblems(problems: readonly string[]): string {
  const noun = problems.length === 1 ? "problem" : "problems";
  return (
    `liventix-load: the configuration has ${problems.length} ${noun}; fix ${problems.length === 1 ? "it" : "them"} and run again:\n` +
    problems.map((p) => `  - ${p}`).join("\n") +
    "\n(see docs/k6.md for every variable)"
  );
}

/** Parses or throws one Error listing every problem: what the k6 init stage calls. */
export function loadConfig(env: Env, options: ConfigOptions = {}): LoadConfig {
  const result = parseConfig(env, options);
  if (!result.ok) throw new Error(formatConfigProblems(result.problems));
  return result.config;
}
